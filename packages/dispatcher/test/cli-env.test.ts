import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDb, type TestDb } from "./helpers.js";

// DATABASE_URL from ./.env when it is not set, as a child process in a project directory.
const CLI = new URL("../bin/sguild-dispatcher.mjs", import.meta.url).pathname;
const DOWN = "postgres://nobody:x@127.0.0.1:1/none";
let db: TestDb;
let dir: string;

const { DATABASE_URL: _unset, ...environment } = process.env;
const run = (cwd: string, env: Record<string, string>, ...args: string[]) => {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", env: { ...environment, ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
};
const project = (dotEnv?: string) => {
  const path = mkdtempSync(join(dir, "project-"));
  if (dotEnv !== undefined) writeFileSync(join(path, ".env"), dotEnv);
  return path;
};
const unreachable = expect.stringMatching(/^sguild-dispatcher: cannot reach the database: .*ECONNREFUSED.*\n$/);

beforeAll(async () => {
  db = await testDb();
  await db.pool.query("INSERT INTO dispatcher_cursor (consumer, event_type, last_position) VALUES ('from_dotenv', 'credit.locked', 0)");
  dir = mkdtempSync(join(tmpdir(), "sguild-dotenv-"));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db.drop();
});

describe("sguild-dispatcher reads DATABASE_URL from ./.env", () => {
  it("when DATABASE_URL is not set (or empty), from the .env of the current directory, quoted or not, among other variables", () => {
    const found = { code: 0, stdout: "no active dead letters\n", stderr: "" };
    expect(run(project(`# prisma init\nSHADOW_DATABASE_URL="${DOWN}"\nDATABASE_URL="${db.url}"\n`), {}, "dlq", "list")).toEqual(found);
    expect(run(project(`DATABASE_URL=${db.url}\n`), {}, "dlq", "list")).toEqual(found);
    expect(run(project(`DATABASE_URL=${db.url}\n`), { DATABASE_URL: "" }, "dlq", "list")).toEqual(found);
    expect(JSON.parse(run(project(`DATABASE_URL=${db.url}\n`), {}, "--json", "status").stdout)).toMatchObject([
      { consumer: "from_dotenv" },
    ]);
  });

  it("a DATABASE_URL set in the environment, and --database-url, win over .env", () => {
    const good = project(`DATABASE_URL=${db.url}\n`);
    expect(run(good, { DATABASE_URL: DOWN }, "dlq", "list")).toEqual({ code: 2, stdout: "", stderr: unreachable });
    expect(run(good, {}, "--database-url", DOWN, "dlq", "list")).toEqual({ code: 2, stdout: "", stderr: unreachable });
    const bad = project(`DATABASE_URL=${DOWN}\n`);
    expect(run(bad, { DATABASE_URL: db.url }, "dlq", "list")).toEqual({ code: 0, stdout: "no active dead letters\n", stderr: "" });
    expect(run(bad, {}, "--database-url", db.url, "dlq", "list")).toEqual({ code: 0, stdout: "no active dead letters\n", stderr: "" });
  });

  it("no .env, or one without DATABASE_URL, says where a URL comes from; an unreadable .env is one line", () => {
    const none = {
      code: 2,
      stdout: "",
      stderr: "sguild-dispatcher: no database: pass --database-url, set DATABASE_URL or put DATABASE_URL in ./.env\n",
    };
    expect(run(project(), {}, "dlq", "list")).toEqual(none);
    expect(run(project("SHADOW_DATABASE_URL=postgres://x\n"), {}, "dlq", "list")).toEqual(none);
    const broken = project();
    mkdirSync(join(broken, ".env"));
    expect(run(broken, {}, "dlq", "list")).toEqual({
      code: 2,
      stdout: "",
      stderr: `sguild-dispatcher: cannot read ${join(broken, ".env")}: EISDIR: illegal operation on a directory, read\n`,
    });
    // a real DATABASE_URL means the .env is never read
    expect(run(broken, { DATABASE_URL: db.url }, "dlq", "list")).toEqual({ code: 0, stdout: "no active dead letters\n", stderr: "" });
  });
});
