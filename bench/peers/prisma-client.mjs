// The Prisma client for the dispatcher-on-Prisma rows: the dispatcher's models only (the fragment),
// generated into generated/ (not committed) and compiled to JavaScript once. `prisma generate`
// needs no schema engine; PRISMA_SCHEMA_ENGINE_BINARY points at a placeholder so the CLI does not
// try to download one.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { renderFragment } from "@sguild/prisma-fragment";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "generated");
const bin = (name) => join(here, "node_modules", ".bin", name);

const schema = `generator client {
  provider            = "prisma-client"
  output              = "./prisma-ts"
  moduleFormat        = "esm"
  importFileExtension = "js"
}

datasource db {
  provider = "postgresql"
}

${renderFragment("public")}`;

/** Generates and compiles the client when the schema changed; returns the module exporting PrismaClient. */
export async function loadPrismaClient() {
  const schemaFile = join(out, "schema.prisma");
  const compiled = join(out, "prisma", "client.js");
  const current = existsSync(schemaFile) && readFileSync(schemaFile, "utf8") === schema && existsSync(compiled);
  if (!current) {
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    writeFileSync(schemaFile, schema);
    // per user: another user's file is not writable
    const engine = join(tmpdir(), `sguild-no-schema-engine-${process.getuid?.() ?? "user"}`);
    if (!existsSync(engine)) writeFileSync(engine, "");
    execFileSync(bin("prisma"), ["generate", "--schema", schemaFile], {
      stdio: ["ignore", "ignore", "inherit"],
      env: {
        ...process.env,
        PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? engine,
        PRISMA_HIDE_UPDATE_MESSAGE: "1",
      },
    });
    const tsconfig = {
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: false,
        skipLibCheck: true,
        declaration: false,
        outDir: "prisma",
        rootDir: "prisma-ts",
      },
      include: ["prisma-ts/**/*.ts"],
    };
    writeFileSync(join(out, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
    writeFileSync(join(out, "package.json"), JSON.stringify({ type: "module" }));
    execFileSync(bin("tsc"), ["-p", join(out, "tsconfig.json")], { stdio: "inherit" });
  }
  return import(pathToFileURL(compiled).href);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { PrismaClient } = await loadPrismaClient();
  console.log(`Prisma client ready (${typeof PrismaClient})`);
}
