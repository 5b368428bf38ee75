// createTestDatabase copies a template migrated once per server, schema and migration set: the
// copy must be what migrating a fresh database makes, and concurrent processes must share one
// template. The child processes import the built package (dist), as a project that installed it does.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDispatcherMigrations, dispatcherMigrations } from "../src/index.js";
import { ADMIN_URL_ENV, createTestDatabase, type TestDatabase } from "../src/testing/index.js";

const TESTING = pathToFileURL(resolve("dist/testing/index.js")).href;
const created: TestDatabase[] = [];
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: process.env[ADMIN_URL_ENV] });
  await admin.connect();
});
afterAll(async () => {
  for (const db of created.splice(0)) await db.drop();
  await admin.end();
});

async function track(db: Promise<TestDatabase>): Promise<TestDatabase> {
  created.push(await db);
  return created.at(-1)!;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Everything the migrations define, in a comparable form. */
const describeDatabase = (url: string) =>
  query(
    url,
    `SELECT
      (SELECT json_agg(nspname ORDER BY nspname) FROM pg_namespace
         WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema') AS schemas,
      (SELECT json_agg(json_build_array(table_schema, table_name, column_name, data_type, column_default, is_nullable)
           ORDER BY table_schema, table_name, ordinal_position)
         FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema')) AS columns,
      (SELECT json_agg(indexdef ORDER BY indexdef) FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema')) AS indexes,
      (SELECT json_agg(conname || ' ' || pg_get_constraintdef(c.oid) ORDER BY conname)
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')) AS constraints,
      (SELECT json_agg(pg_get_functiondef(p.oid) ORDER BY p.proname, p.oid::regprocedure::text)
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND p.prokind IN ('f', 'p')) AS functions,
      (SELECT json_agg(pg_get_triggerdef(t.oid) ORDER BY t.tgname) FROM pg_trigger t WHERE NOT t.tgisinternal) AS triggers,
      (SELECT json_agg(json_build_array(schemaname, sequencename, start_value, last_value) ORDER BY schemaname, sequencename)
         FROM pg_sequences) AS sequences,
      (SELECT json_agg(json_build_array(migration_name, checksum, finished_at IS NOT NULL, rolled_back_at, applied_steps_count, logs)
           ORDER BY migration_name)
         FROM public._prisma_migrations) AS migrations`,
  ).then((rows) => rows[0]);

const templates = async () =>
  (
    await admin.query<{ datname: string; datallowconn: boolean }>(
      "SELECT datname, datallowconn FROM pg_database WHERE datname LIKE 'sguild\\_tpl\\_%' ORDER BY datname",
    )
  ).rows;

describe("createTestDatabase from a migrated template", () => {
  it.each(["public", "sguild_events"])("makes in schema %s the same database as migrating a fresh one", async (schema) => {
    const cloned = await track(createTestDatabase({ schema }));
    const migrated = await track(createTestDatabase({ schema, migrate: false }));
    await applyDispatcherMigrations({ connectionString: migrated.url, schema });
    const [a, b] = await Promise.all([describeDatabase(cloned.url), describeDatabase(migrated.url)]);
    expect(a).toEqual(b);
    expect(a!["migrations"]).toHaveLength(dispatcherMigrations(schema).length);
    expect((a!["columns"] as unknown[]).length).toBeGreaterThan(20);
  });

  it("gives every database its own copy", async () => {
    const [one, two] = await Promise.all([track(createTestDatabase()), track(createTestDatabase())]);
    expect(one.name).not.toBe(two.name);
    await query(
      one.url,
      "INSERT INTO dispatcher_cursor (consumer, event_type) VALUES ('c', 'credit.locked'); CREATE TABLE only_in_one (id int)",
    );
    const written =
      "SELECT (SELECT count(*) FROM dispatcher_cursor)::int AS cursors, " +
      "(SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_one')::int AS tables";
    expect(await query(one.url, written)).toEqual([{ cursors: 1, tables: 1 }]);
    expect(await query(two.url, written)).toEqual([{ cursors: 0, tables: 0 }]);
    const third = await track(createTestDatabase());
    expect(await query(third.url, written)).toEqual([{ cursors: 0, tables: 0 }]);
  });

  it("builds one template per schema, shared by concurrent processes, that refuses connections", async () => {
    const schema = `tpl_${randomBytes(6).toString("hex")}`;
    const before = await templates();
    const script = `const { createTestDatabase } = await import(${JSON.stringify(TESTING)});
      const db = await createTestDatabase({ schema: ${JSON.stringify(schema)} });
      console.log(JSON.stringify({ name: db.name, url: db.url }));`;
    const children = await Promise.all(Array.from({ length: 4 }, () => node(script)));
    for (const child of children) expect(child).toMatchObject({ code: 0, stderr: "" });
    const dbs = children.map((child) => JSON.parse(child.stdout) as { name: string; url: string });
    for (const db of dbs)
      created.push({ ...db, drop: () => admin.query(`DROP DATABASE IF EXISTS "${db.name}" WITH (FORCE)`).then(() => undefined) });
    expect(new Set(dbs.map((db) => db.name)).size).toBe(4);
    const reference = await track(createTestDatabase({ schema, migrate: false }));
    await applyDispatcherMigrations({ connectionString: reference.url, schema });
    const migrated = await describeDatabase(reference.url);
    for (const db of dbs) expect(await describeDatabase(db.url)).toEqual(migrated);

    const added = (await templates()).filter((t) => !before.some((b) => b.datname === t.datname));
    expect(added).toEqual([{ datname: expect.stringMatching(/^sguild_tpl_[0-9a-f]{24}$/), datallowconn: false }]);
    const leftovers = await admin.query("SELECT datname FROM pg_database WHERE datname LIKE 'sguild\\_tpl\\_%\\_build'");
    expect(leftovers.rows).toEqual([]);
    await expect(query(new URL(`/${added[0]!.datname}`, process.env[ADMIN_URL_ENV]).toString(), "SELECT 1")).rejects.toMatchObject({
      code: "55000",
    });

    // Dropped behind this process's back: built again.
    await admin.query(`DROP DATABASE "${added[0]!.datname}"`);
    const again = await track(createTestDatabase({ schema }));
    expect(await describeDatabase(again.url)).toEqual(migrated);
    expect((await templates()).filter((t) => t.datname === added[0]!.datname)).toEqual([
      { datname: added[0]!.datname, datallowconn: false },
    ]);
    await admin.query(`DROP DATABASE "${added[0]!.datname}"`);
  });

  it("copies nothing for migrate: false: an empty database", async () => {
    const empty = await track(createTestDatabase({ migrate: false }));
    expect(
      await query(empty.url, "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"),
    ).toEqual([{ n: 0 }]);
  });
});

/** Runs an ES module script in a child process; resolves with its exit code and output. */
function node(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { env: process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("close", (code) => done({ code, stdout, stderr }));
  });
}
