import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { DOMAINS, loadRegistry, type Domain } from "@sguild/contracts";
import { mergeFragment, type MergeFragmentResult } from "@sguild/prisma-fragment";
import { InvalidArgumentError } from "../errors/index.js";
import {
  consumerSource,
  dispatcherSource,
  producerSource,
  sampleEvent,
  simulateSource,
  type ClientKind,
  type SampleContext,
} from "./samples.js";

export interface InitOptions {
  /** The project folder. Default: the current directory. */
  cwd?: string;
  /** This project's domain. */
  domain: Domain;
  /** `prisma` when prisma/schema.prisma exists (default), else `pg`. */
  client?: ClientKind;
  /** Where the samples go, relative to cwd. Default `src/events`. */
  dir?: string;
  /** The Prisma schema, relative to cwd. Default `prisma/schema.prisma`. */
  schemaFile?: string;
  /** The Prisma migrations folder, relative to cwd. Default `prisma/migrations`. */
  migrationsDir?: string;
}

export interface InitResult {
  client: ClientKind;
  /** The fragment merge (Prisma projects only). */
  merge?: MergeFragmentResult;
  /** Files written, relative to cwd. */
  written: string[];
  /** Files already there, left as they were. */
  kept: string[];
  /** What to do next, one line each. */
  next: string[];
}

/**
 * Sets a project up for the dispatcher: merges the fragment into its Prisma schema and migrations,
 * and writes a dispatcher module, a sample producer and consumer (and, for a type this domain only
 * consumes, a script that injects one as if relayed). Idempotent: run twice, it changes nothing.
 */
export function initProject(options: InitOptions): InitResult {
  const cwd = resolve(options.cwd ?? ".");
  if (!(DOMAINS as readonly string[]).includes(options?.domain)) {
    throw new InvalidArgumentError(`--domain must be one of ${DOMAINS.join(", ")} (got ${JSON.stringify(options?.domain)})`, "domain");
  }
  if (!existsSync(join(cwd, "package.json")))
    throw new InvalidArgumentError(`no package.json in ${cwd}: run init in your project's folder (npm init -y first)`, "cwd");
  const schemaFile = resolve(cwd, options.schemaFile ?? "prisma/schema.prisma");
  if (existsSync(schemaFile) && statSync(schemaFile).isDirectory()) {
    throw new InvalidArgumentError(
      `${relative(cwd, schemaFile)} is a folder: ` +
        `pass the .prisma file that holds the generator block (of a multi-file schema, its main file)`,
      "schemaFile",
    );
  }
  if (options.schemaFile !== undefined && !existsSync(schemaFile)) {
    throw new InvalidArgumentError(`no Prisma schema at ${relative(cwd, schemaFile)}`, "schemaFile");
  }
  const prismaHints = ["prisma.config.ts", "prisma/schema"].filter((hint) => existsSync(join(cwd, hint)));
  if (options.client === undefined && !existsSync(schemaFile) && prismaHints.length > 0) {
    throw new InvalidArgumentError(
      `found ${prismaHints.join(" and ")} but no ${relative(cwd, schemaFile)}: ` +
        `pass --schema-file <the .prisma file with the generator block>, or --client pg`,
      "schemaFile",
    );
  }
  const client = options.client ?? (existsSync(schemaFile) ? "prisma" : "pg");
  if (client !== "prisma" && client !== "pg")
    throw new InvalidArgumentError(`--client must be prisma or pg (got ${JSON.stringify(client)})`, "client");
  const dir = resolve(cwd, options.dir ?? "src/events");
  let merge: MergeFragmentResult | undefined;
  let prismaImport = "@prisma/client";
  if (client === "prisma") {
    if (!existsSync(schemaFile))
      throw new InvalidArgumentError(
        `no Prisma schema at ${relative(cwd, schemaFile)}: run npx prisma init, or pass --client pg`,
        "schemaFile",
      );
    merge = mergeFragment({ schemaFile, migrationsDir: resolve(cwd, options.migrationsDir ?? "prisma/migrations") });
    prismaImport = generatedClientImport(readFileSync(schemaFile, "utf8"), dirname(schemaFile), dir);
  }
  const ctx: SampleContext = { domain: options.domain, client, prismaImport };
  const registry = loadRegistry();
  const produced = sampleEvent(registry, (producer) => producer === options.domain);
  const consumed = sampleEvent(registry, (producer, consumers) => consumers.includes(options.domain) && producer !== options.domain);
  const files: Array<[string, string]> = [["dispatcher.ts", dispatcherSource(ctx)]];
  if (produced) files.push(["producer.ts", producerSource(ctx, produced)]);
  if (consumed) {
    files.push(["consumer.ts", consumerSource(ctx, consumed.eventType)]);
    files.push(["simulate-incoming.ts", simulateSource(consumed, registry.getRegistration(consumed.eventType).producer)]);
  } else if (produced) files.push(["consumer.ts", consumerSource(ctx, produced.eventType)]);
  const written: string[] = [];
  const kept: string[] = [];
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of files) {
    const path = join(dir, name);
    const shown = relative(cwd, path).split(sep).join("/");
    if (existsSync(path)) kept.push(shown);
    else {
      writeFileSync(path, text);
      written.push(shown);
    }
  }
  const at = relative(cwd, dir).split(sep).join("/");
  const run = (file: string) => `npx tsx --env-file=.env ${at}/${file}`;
  const next = [
    "npx sguild-prisma-fragment dev --write-env   # a local PostgreSQL with the migrations applied; DATABASE_URL into .env",
    ...(client === "prisma" ? ["npx prisma generate"] : []),
    ...(consumed ? [`${run("consumer.ts")}   # then, in another terminal: ${run("simulate-incoming.ts")}`] : []),
    ...(produced ? [run("producer.ts")] : []),
  ];
  return { client, merge, written, kept, next };
}

/** Where the samples import the generated client from: the prisma-client generator's output, else @prisma/client. */
function generatedClientImport(schema: string, schemaDir: string, samplesDir: string): string {
  const generator = /generator\s+\w+\s*\{([^}]*)\}/.exec(schema)?.[1] ?? "";
  const provider = /provider\s*=\s*"([^"]+)"/.exec(generator)?.[1];
  const output = /output\s*=\s*"([^"]+)"/.exec(generator)?.[1];
  if (provider !== "prisma-client" || !output) return "@prisma/client";
  const target = relative(samplesDir, join(resolve(schemaDir, output), "client.js"))
    .split(sep)
    .join("/");
  return target.startsWith(".") ? target : `./${target}`;
}
