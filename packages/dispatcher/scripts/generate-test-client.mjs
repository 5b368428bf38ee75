// Builds the tests' Prisma schema (a small domain plus the dispatcher fragment) and generates
// its client. `prisma generate` needs no schema engine; PRISMA_SCHEMA_ENGINE_BINARY points at a
// placeholder so the CLI does not try to download one.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderFragment } from "@sguild/prisma-fragment";

const here = join(dirname(fileURLToPath(import.meta.url)), "..", "test", "prisma");
const schemaFile = join(here, "schema.prisma");
writeFileSync(schemaFile, `${readFileSync(join(here, "domain.prisma"), "utf8")}\n${renderFragment("public")}`);
const engine = join(tmpdir(), `sguild-no-schema-engine-${process.getuid?.() ?? "user"}`); // per user: another user's file is not writable
writeFileSync(engine, "");
mkdirSync(join(here, "..", "generated"), { recursive: true });
execFileSync(join(here, "..", "..", "node_modules", ".bin", "prisma"), ["generate", "--schema", schemaFile], {
  stdio: "inherit",
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? engine, PRISMA_HIDE_UPDATE_MESSAGE: "1" },
});
