#!/usr/bin/env node
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseEnv } from "node:util";
import { Command } from "commander";
import { devCommand } from "./dev/dev-command.js";
import { mergeFragment } from "./merge/index.js";
import { applyDispatcherMigrations, applyPrismaMigrations, dispatcherMigrations, renderFragment } from "./migrate/index.js";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

const program = new Command("sguild-prisma-fragment")
  .description("Merge the dispatcher tables into a domain's Prisma project, or apply them to a database.")
  .version(version)
  .showHelpAfterError();

program
  .command("merge")
  .description("append the four dispatcher models to schema.prisma and copy the migration (idempotent)")
  .option("--schema-file <path>", "the domain's schema.prisma", "prisma/schema.prisma")
  .option("--migrations-dir <path>", "the domain's migrations folder", "prisma/migrations")
  .option("--db-schema <name>", "Postgres schema for the dispatcher tables", "public")
  .action((opts: { schemaFile: string; migrationsDir: string; dbSchema: string }) => {
    const result = mergeFragment({ schemaFile: opts.schemaFile, migrationsDir: opts.migrationsDir, schema: opts.dbSchema });
    const changed = result.addedModels.length + result.upgradedModels.length + result.addedMigrations.length > 0;
    if (result.addedModels.length) console.log(`added models: ${result.addedModels.join(", ")}`);
    if (result.upgradedModels.length) console.log(`upgraded models: ${result.upgradedModels.join(", ")}`);
    if (result.addedMigrations.length) console.log(`added migrations: ${result.addedMigrations.join(", ")}`);
    if (!changed) console.log("already merged: nothing to change");
    for (const note of result.notes) console.log(`note: ${note}`);
  });

program
  .command("apply")
  .description("apply the dispatcher migrations over pg and record them in _prisma_migrations")
  .option("--database-url <url>", "Postgres URL (default: DATABASE_URL, else DATABASE_URL from ./.env)")
  .option("--db-schema <name>", "Postgres schema for the dispatcher tables", "public")
  .option("--migrations-table-schema <name>", "schema of _prisma_migrations", "public")
  .option("--migrations-dir <path>", "apply this whole Prisma migrations folder instead (the domain's tables too)")
  .action(async (opts: { databaseUrl?: string; dbSchema: string; migrationsTableSchema: string; migrationsDir?: string }) => {
    const common = { connectionString: opts.databaseUrl, migrationsTableSchema: opts.migrationsTableSchema };
    const result = opts.migrationsDir
      ? await applyPrismaMigrations({ ...common, migrationsDir: opts.migrationsDir })
      : await applyDispatcherMigrations({ ...common, schema: opts.dbSchema });
    console.log(`applied: ${result.applied.join(", ") || "none"}; already applied: ${result.alreadyApplied.join(", ") || "none"}`);
  });

program
  .command("render")
  .description("write the migrations in Prisma's folder layout and the models fragment")
  .requiredOption("--out <dir>", "migrations folder to write")
  .option("--prisma-out <file>", "where to write the models fragment")
  .option("--db-schema <name>", "Postgres schema for the dispatcher tables", "public")
  .action((opts: { out: string; prismaOut?: string; dbSchema: string }) => {
    for (const migration of dispatcherMigrations(opts.dbSchema)) {
      mkdirSync(join(opts.out, migration.name), { recursive: true });
      writeFileSync(join(opts.out, migration.name, "migration.sql"), migration.sql);
    }
    if (opts.prismaOut) {
      mkdirSync(dirname(opts.prismaOut), { recursive: true });
      writeFileSync(opts.prismaOut, renderFragment(opts.dbSchema));
    }
  });

program.addCommand(devCommand());

/**
 * DATABASE_URL from ./.env when it is not set (or empty), as the `prisma init` layout leads a team to
 * expect: only that variable is read from the file, and one set in the environment wins.
 */
function databaseUrlFromDotEnv(): void {
  if (process.env["DATABASE_URL"]) return;
  let text: string;
  try {
    text = readFileSync(".env", "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    console.error(`sguild-prisma-fragment: cannot read ${join(process.cwd(), ".env")}: ${(error as Error).message}`);
    process.exit(2);
  }
  const url = parseEnv(text)["DATABASE_URL"];
  if (url) process.env["DATABASE_URL"] = url;
}

databaseUrlFromDotEnv();
program.parseAsync().catch((error: Error & { code?: string }) => {
  console.error(`sguild-prisma-fragment: ${error.message}`);
  process.exit(2);
});
