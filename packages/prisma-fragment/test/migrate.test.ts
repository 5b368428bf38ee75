import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import pg from "pg";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  applyDispatcherMigrations,
  applyPrismaMigrations,
  dispatcherMigrations,
  InvalidSchemaNameError,
  MigrationChecksumMismatchError,
  MigrationError,
  MigrationFailedEarlierError,
  MigrationFailedError,
  MissingDatabaseUrlError,
} from "../src/index.js";
import { createTestDatabase, type TestDatabase } from "../src/testing/index.js";

const NAME = "20261123000000_dispatcher";
const CURSOR_START = "20261127000000_cursor_start";
const INDEX_READS = "20261202000000_index_reads";
const CONSOLE = "20261202000100_console";
let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(async () => {
  await client.end();
  await db.drop();
});

const tablesIn = async (schema: string) =>
  (
    await client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", [
      schema,
    ])
  ).rows.map((r) => r.table_name);

describe("applyDispatcherMigrations", () => {
  it("applies on a fresh database and records the migration as prisma migrate does", async () => {
    expect(await applyDispatcherMigrations({ client })).toEqual({
      applied: [NAME, CURSOR_START, INDEX_READS, CONSOLE],
      alreadyApplied: [],
    });
    expect(await tablesIn("public")).toEqual([
      "_prisma_migrations",
      "dispatcher_consumer_instance",
      "dispatcher_cursor",
      "dispatcher_dead_letter",
      "dispatcher_dedup",
      "dispatcher_event",
    ]);
    const { rows } = await client.query(
      "SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at, applied_steps_count, logs " +
        "FROM _prisma_migrations ORDER BY migration_name",
    );
    expect(rows).toEqual(
      [NAME, CURSOR_START, INDEX_READS, CONSOLE].map((name) => ({
        migration_name: name,
        checksum: createHash("sha256")
          .update(readFileSync(`migrations/${name}/migration.sql`, "utf8"))
          .digest("hex"),
        finished: true,
        rolled_back_at: null,
        applied_steps_count: 1,
        logs: null,
      })),
    );
    const indexes = await client.query(
      "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname = 'dispatcher_dead_letter_active_per_consumer'",
    );
    expect(indexes.rows[0].indexdef).toContain("WHERE (resolved_at IS NULL)");
  });

  it("is a no-op the second time", async () => {
    expect(await applyDispatcherMigrations({ client })).toEqual({
      applied: [],
      alreadyApplied: [NAME, CURSOR_START, INDEX_READS, CONSOLE],
    });
    expect((await client.query("SELECT count(*)::int AS n FROM _prisma_migrations")).rows[0].n).toBe(4);
  });

  it("fires pg_notify('dispatcher_event_inserted', event_type) on insert, once per type per statement", async () => {
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    const seen: string[] = [];
    listener.on("notification", (n) => seen.push(`${n.channel}:${n.payload}`));
    await listener.query("LISTEN dispatcher_event_inserted");
    await client.query(`INSERT INTO dispatcher_event (event_id, event_type, schema_version, tenant_id, producer, occurred_at, payload)
      VALUES ('evt_1', 'credit.locked', 1, 't', 'revenue', now(), '{}'), ('evt_2', 'credit.locked', 1, 't', 'revenue', now(), '{}'),
             ('evt_3', 'credit.reserved', 1, 't', 'revenue', now(), '{}')`);
    await new Promise((r) => setTimeout(r, 200));
    await listener.end();
    expect(seen.sort()).toEqual(["dispatcher_event_inserted:credit.locked", "dispatcher_event_inserted:credit.reserved"]);
  });

  it("puts the tables in another schema when asked, touching nothing in public", async () => {
    const other = await createTestDatabase({ migrate: false });
    try {
      expect(await applyDispatcherMigrations({ connectionString: other.url, schema: "dispatcher" })).toEqual({
        applied: [NAME, CURSOR_START, INDEX_READS, CONSOLE],
        alreadyApplied: [],
      });
      const c = new pg.Client({ connectionString: other.url });
      await c.connect();
      const rows = await c.query(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('public','dispatcher') ORDER BY 1, 2",
      );
      await c.end();
      expect(rows.rows.map((r) => `${r.table_schema}.${r.table_name}`)).toEqual([
        "dispatcher.dispatcher_consumer_instance",
        "dispatcher.dispatcher_cursor",
        "dispatcher.dispatcher_dead_letter",
        "dispatcher.dispatcher_dedup",
        "dispatcher.dispatcher_event",
        "public._prisma_migrations",
      ]);
    } finally {
      await other.drop();
    }
  });

  it("refuses a schema name that is not a plain identifier, before touching the database", async () => {
    await expect(applyDispatcherMigrations({ client, schema: 'x"; DROP TABLE y; --' })).rejects.toThrow(InvalidSchemaNameError);
    expect(() => dispatcherMigrations("")).toThrow(expect.objectContaining({ code: "INVALID_SCHEMA_NAME", schema: "" }));
  });

  it("the shipped migrations/ folder is the public rendering of the templates", () => {
    for (const m of dispatcherMigrations("public")) {
      expect(readFileSync(`migrations/${m.name}/migration.sql`, "utf8")).toBe(m.sql);
    }
  });
});

describe("applyPrismaMigrations", () => {
  it("applies a domain's whole migrations folder once, recorded as Prisma does", async () => {
    const { mkdtempSync, mkdirSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const { applyPrismaMigrations } = await import("../src/index.js");
    const dir = mkdtempSync(join(tmpdir(), "migrations-"));
    mkdirSync(join(dir, "20250101000000_init"));
    writeFileSync(join(dir, "20250101000000_init/migration.sql"), "CREATE TABLE account (id text PRIMARY KEY);");
    mkdirSync(join(dir, NAME));
    writeFileSync(join(dir, NAME, "migration.sql"), readFileSync(`migrations/${NAME}/migration.sql`, "utf8"));
    const target = await createTestDatabase({ migrate: false });
    try {
      expect(await applyPrismaMigrations({ connectionString: target.url, migrationsDir: dir })).toEqual({
        applied: ["20250101000000_init", NAME],
        alreadyApplied: [],
      });
      expect(await applyPrismaMigrations({ connectionString: target.url, migrationsDir: dir })).toEqual({
        applied: [],
        alreadyApplied: ["20250101000000_init", NAME],
      });
      // the dispatcher step sees its migration as applied too, and adds the one the folder lacks (an upgrade)
      expect(await applyDispatcherMigrations({ connectionString: target.url })).toEqual({
        applied: [CURSOR_START, INDEX_READS, CONSOLE],
        alreadyApplied: [NAME],
      });
    } finally {
      await target.drop();
    }
  });
});

describe("a failing apply: one class and code per failure", () => {
  const folder = (sql: string) => {
    const dir = mkdtempSync(join(tmpdir(), "migrations-"));
    mkdirSync(join(dir, "20250101000000_init"));
    writeFileSync(join(dir, "20250101000000_init/migration.sql"), sql);
    return dir;
  };
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => expect.unreachable("applied"),
      (error: unknown) => error,
    );

  it("MISSING_DATABASE_URL without client, connectionString or DATABASE_URL", async () => {
    vi.stubEnv("DATABASE_URL", "");
    try {
      const error = await failure(applyDispatcherMigrations());
      expect(error).toMatchObject({ code: "MISSING_DATABASE_URL" });
      expect([MissingDatabaseUrlError.isInstance(error), MigrationError.isInstance(error), MigrationFailedError.isInstance(error)]).toEqual(
        [true, true, false],
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it(
    "MIGRATION_FAILED when the SQL fails (rolled back, PostgreSQL's error as cause); " +
      "MIGRATION_CHECKSUM_MISMATCH when an applied file changed",
    async () => {
      const target = await createTestDatabase({ migrate: false });
      try {
        const dir = folder("CREATE TABLE account (id text PRIMARY KEY);");
        writeFileSync(join(dir, "20250101000000_init/migration.sql"), "CREATE TABLE account (id text PRIMARY KEY;");
        const failed = await failure(applyPrismaMigrations({ connectionString: target.url, migrationsDir: dir }));
        expect(failed).toMatchObject({ code: "MIGRATION_FAILED", migration: "20250101000000_init", cause: { code: "42601" } });
        expect(MigrationFailedError.isInstance(failed)).toBe(true);

        writeFileSync(join(dir, "20250101000000_init/migration.sql"), "CREATE TABLE account (id text PRIMARY KEY);");
        expect(await applyPrismaMigrations({ connectionString: target.url, migrationsDir: dir })).toEqual({
          applied: ["20250101000000_init"],
          alreadyApplied: [],
        });
        writeFileSync(join(dir, "20250101000000_init/migration.sql"), "CREATE TABLE account (id text PRIMARY KEY, name text);");
        const changed = await failure(applyPrismaMigrations({ connectionString: target.url, migrationsDir: dir }));
        expect(changed).toMatchObject({ code: "MIGRATION_CHECKSUM_MISMATCH", migration: "20250101000000_init" });
        expect([MigrationChecksumMismatchError.isInstance(changed), MigrationFailedEarlierError.isInstance(changed)]).toEqual([
          true,
          false,
        ]);
      } finally {
        await target.drop();
      }
    },
  );

  it("MIGRATION_FAILED_EARLIER when a migration is recorded as started and never finished", async () => {
    const target = await createTestDatabase({ migrate: false });
    const c = new pg.Client({ connectionString: target.url });
    await c.connect();
    try {
      const dir = folder("CREATE TABLE account (id text PRIMARY KEY);");
      await applyPrismaMigrations({ client: c, migrationsDir: dir });
      await c.query("UPDATE _prisma_migrations SET finished_at = NULL");
      const error = await failure(applyPrismaMigrations({ client: c, migrationsDir: dir }));
      expect(error).toMatchObject({ code: "MIGRATION_FAILED_EARLIER", migration: "20250101000000_init" });
      expect([MigrationFailedEarlierError.isInstance(error), MigrationError.isInstance(error)]).toEqual([true, true]);
    } finally {
      await c.end();
      await target.drop();
    }
  });
});
