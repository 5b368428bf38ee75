#!/usr/bin/env node
import { parseArgs } from "node:util";
import { lintContracts } from "./lint/index.js";

const usage = "usage: sguild-contracts-lint [path/to/event-types-registry.json] [--fixtures DIR] [--id-base URL]";
try {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { fixtures: { type: "string" }, "id-base": { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const problems = lintContracts({ registryPath: positionals[0], fixturesDir: values.fixtures, idBase: values["id-base"] });
  for (const p of problems) console.log(`${p.rule}\t${p.where}\t${p.message}`);
  console.log(problems.length === 0 ? "contracts: no problems" : `contracts: ${problems.length} problem(s)`);
  process.exit(problems.length === 0 ? 0 : 1);
} catch (error) {
  console.error(`sguild-contracts-lint: ${(error as Error).message}\n${usage}`);
  process.exit(2);
}
