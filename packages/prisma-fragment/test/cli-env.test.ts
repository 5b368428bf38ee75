import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../src/testing/index.js";

// sguild-prisma-fragment apply takes DATABASE_URL from ./.env when it is not set; run as a child process.
const CLI = resolve("bin/sguild-prisma-fragment.mjs");
const DOWN = "postgres://nobody:x@127.0.0.1:1/none";
let db: TestDatabase;
let dir: string;

const { DATABASE_URL: _unset, ...environment } = process.env;
const apply = (dotEnv: string | null, env: Record<string, string> = {}) => {
  const cwd = mkdtempSync(join(dir, "project-"));
  if (dotEnv !== null) writeFileSync(join(cwd, ".env"), dotEnv);
  const result = spawnSync(process.execPath, [CLI, "apply"], { cwd, encoding: "utf8", env: { ...environment, ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
};
const APPLIED = {
  code: 0,
  stdout:
    "applied: none; already applied: " +
    "20261123000000_dispatcher, 20261127000000_cursor_start, 20261202000000_index_reads, 20261202000100_console\n",
  stderr: "",
};

beforeAll(async () => {
  db = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), "sguild-fragment-dotenv-"));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db.drop();
});

describe("sguild-prisma-fragment reads DATABASE_URL from ./.env", () => {
  it("when DATABASE_URL is not set", () => {
    expect(apply(`# prisma init\nDATABASE_URL="${db.url}"\n`)).toEqual(APPLIED);
    expect(apply(`DATABASE_URL="${db.url}"\n`, { DATABASE_URL: "" })).toEqual(APPLIED);
  });

  it("a DATABASE_URL set in the environment wins over .env", () => {
    expect(apply(`DATABASE_URL=${DOWN}\n`, { DATABASE_URL: db.url })).toEqual(APPLIED);
    const refused = apply(`DATABASE_URL=${db.url}\n`, { DATABASE_URL: DOWN });
    expect([refused.code, refused.stdout]).toEqual([2, ""]);
    expect(refused.stderr).toMatch(/^sguild-prisma-fragment: .*ECONNREFUSED.*\n$/);
  });

  it("without either, apply says what it needs; an unreadable .env is one line", () => {
    expect(apply(null)).toEqual({
      code: 2,
      stdout: "",
      stderr: "sguild-prisma-fragment: applyDispatcherMigrations needs `client`, `connectionString` or DATABASE_URL\n",
    });
    const cwd = mkdtempSync(join(dir, "project-"));
    mkdirSync(join(cwd, ".env"));
    const result = spawnSync(process.execPath, [CLI, "apply"], { cwd, encoding: "utf8", env: environment });
    expect([result.status, result.stdout, result.stderr]).toEqual([
      2,
      "",
      `sguild-prisma-fragment: cannot read ${join(cwd, ".env")}: EISDIR: illegal operation on a directory, read\n`,
    ]);
  });
});
