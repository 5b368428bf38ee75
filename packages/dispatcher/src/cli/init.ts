import { Option } from "commander";
import { DOMAINS, type Domain } from "@sguild/contracts";
import { initProject, type InitResult } from "../init/index.js";
import { print, program } from "./program.js";

program
  .command("init")
  .description(
    "set this project up: merge the dispatcher tables into its Prisma schema and migrations, " +
      "write a dispatcher module and samples (idempotent)",
  )
  .addOption(new Option("--domain <domain>", "this project's domain").choices(DOMAINS).makeOptionMandatory())
  .addOption(new Option("--client <client>", "prisma (default when prisma/schema.prisma exists) or pg").choices(["prisma", "pg"]))
  .option("--dir <path>", "where the samples go", "src/events")
  .option("--schema-file <path>", "the Prisma schema (default prisma/schema.prisma)")
  .option("--migrations-dir <path>", "the Prisma migrations folder (default prisma/migrations)")
  .action((opts: { domain: Domain; client?: "prisma" | "pg"; dir: string; schemaFile?: string; migrationsDir?: string }) => {
    const result = initProject({
      domain: opts.domain,
      client: opts.client,
      dir: opts.dir,
      schemaFile: opts.schemaFile,
      migrationsDir: opts.migrationsDir,
    });
    print(result, () => describe(result));
  });

function describe(result: InitResult): string {
  const lines: string[] = [];
  const merge = result.merge;
  if (merge?.addedModels.length) lines.push(`added models: ${merge.addedModels.join(", ")}`);
  if (merge?.upgradedModels.length) lines.push(`upgraded models: ${merge.upgradedModels.join(", ")}`);
  if (merge?.addedMigrations.length) lines.push(`added migrations: ${merge.addedMigrations.join(", ")}`);
  for (const note of merge?.notes ?? []) lines.push(`note: ${note}`);
  for (const file of result.written) lines.push(`wrote ${file}`);
  const changed = lines.length > 0;
  for (const file of result.kept) lines.push(`kept ${file} (already there)`);
  if (!changed) lines.push("already set up: nothing to change");
  lines.push("next:", ...result.next.map((step) => `  ${step}`));
  return lines.join("\n");
}
