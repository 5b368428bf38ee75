import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";

const CLI = new URL("../bin/sguild-prisma-fragment.mjs", import.meta.url).pathname;

it("--version prints the package's version", () => {
  const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  const run = spawnSync(process.execPath, [CLI, "--version"], { encoding: "utf8" });
  expect([run.status, run.stdout, run.stderr]).toEqual([0, `${version}\n`, ""]);
});
