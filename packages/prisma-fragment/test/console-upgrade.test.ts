import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDispatcherMigrations, applyPrismaMigrations, dispatcherMigrations } from "../src/index.js";
import { createTestDatabase, type TestDatabase } from "../src/testing/index.js";

// A database migrated before the console (the first three migrations), holding events, cursors,
// dedup rows and a dead letter, takes the console migration in place: the cursor gains paused_at
// and paused_by, dispatcher_consumer_instance appears, and every row is kept as it was.

const OLDER = ["20261123000000_dispatcher", "20261127000000_cursor_start", "20261202000000_index_reads"];
const CONSOLE = "20261202000100_console";

for (const schema of ["public", "ops"]) {
  describe(`upgrading a database with data to the console migration (schema ${schema})`, () => {
    let db: TestDatabase;
    let client: pg.Client;
    const t = (table: string) => `"${schema}"."${table}"`;

    beforeAll(async () => {
      db = await createTestDatabase({ migrate: false });
      // The older migrations as a domain's Prisma folder held them, rendered for this schema.
      const dir = mkdtempSync(join(tmpdir(), "migrations-"));
      for (const m of dispatcherMigrations(schema).filter((m) => OLDER.includes(m.name))) {
        mkdirSync(join(dir, m.name));
        writeFileSync(join(dir, m.name, "migration.sql"), m.sql);
      }
      expect(await applyPrismaMigrations({ connectionString: db.url, migrationsDir: dir })).toEqual({ applied: OLDER, alreadyApplied: [] });
      client = new pg.Client({ connectionString: db.url });
      await client.connect();
    });
    afterAll(async () => {
      await client.end();
      await db.drop();
    });

    const snapshot = async () => ({
      event: (await client.query(`SELECT * FROM ${t("dispatcher_event")} ORDER BY id`)).rows,
      cursor: (await client.query(`SELECT * FROM ${t("dispatcher_cursor")} ORDER BY consumer, event_type`)).rows,
      dedup: (await client.query(`SELECT * FROM ${t("dispatcher_dedup")} ORDER BY consumer, event_id`)).rows,
      deadLetter: (await client.query(`SELECT * FROM ${t("dispatcher_dead_letter")} ORDER BY id`)).rows,
    });
    const columns = async (table: string) =>
      (
        await client.query(
          `SELECT column_name, data_type, datetime_precision, is_nullable, column_default FROM information_schema.columns
           WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
          [schema, table],
        )
      ).rows;

    it("keeps every row; the cursor gains its pause, the heartbeat table appears", async () => {
      await client.query(`INSERT INTO ${t("dispatcher_event")}
          (event_id, event_type, schema_version, tenant_id, producer, occurred_at, subject, correlation_id, payload)
        VALUES ('evt_1', 'credit.locked', 1, 'tnt', 'revenue', '2026-12-01T10:00:00Z', 'per_1', 'evt_0', '{"n":1}'),
               ('evt_2', 'credit.reserved', 1, 'tnt', 'revenue', '2026-12-01T10:00:01Z', NULL, NULL, '{"n":2}'),
               ('evt_3', 'credit.locked', 1, 'tnt', 'revenue', '2026-12-01T10:00:02Z', NULL, NULL, '{"n":3}')`);
      await client.query(`SELECT ${t("dispatcher_sequence")}(5000)`);
      await client.query(`INSERT INTO ${t("dispatcher_cursor")}
          (consumer, event_type, last_position, last_delivered_at, failed_attempts, retry_at, last_error, start_from, start_position)
        VALUES ('coaching', 'credit.locked', 1, '2026-12-01T10:00:05Z', 2, '2026-12-01T10:01:00Z', 'boom', 'earliest', 0),
               ('coaching', 'credit.reserved', 2, '2026-12-01T10:00:06Z', 0, NULL, NULL, NULL, NULL)`);
      await client.query(`INSERT INTO ${t("dispatcher_dedup")} (consumer, event_id) VALUES ('coaching', 'evt_1'), ('coaching', 'evt_2')`);
      await client.query(`INSERT INTO ${t("dispatcher_dead_letter")}
          (id, consumer, event_id, event_type, event_position, envelope, error_class, error_message, fingerprint, attempts,
           first_failed_at, last_failed_at)
        VALUES ('dlq_1', 'coaching', 'evt_3', 'credit.locked', 3, '{"event_id":"evt_3"}', 'RangeError', 'no slot', '0123456789abcdef', 4,
                now(), now())`);
      const before = await snapshot();
      const cursorColumns = await columns("dispatcher_cursor");

      expect(await applyDispatcherMigrations({ connectionString: db.url, schema })).toEqual({ applied: [CONSOLE], alreadyApplied: OLDER });

      const after = await snapshot();
      expect(after).toEqual({ ...before, cursor: before.cursor.map((c) => ({ ...c, paused_at: null, paused_by: null })) });
      expect(after.event.map((e) => [e.event_id, Number(e.position)])).toEqual([
        ["evt_1", 1],
        ["evt_2", 2],
        ["evt_3", 3],
      ]);
      expect(await columns("dispatcher_cursor")).toEqual([
        ...cursorColumns,
        {
          column_name: "paused_at",
          data_type: "timestamp with time zone",
          datetime_precision: 3,
          is_nullable: "YES",
          column_default: null,
        },
        { column_name: "paused_by", data_type: "text", datetime_precision: null, is_nullable: "YES", column_default: null },
      ]);
      expect((await columns("dispatcher_consumer_instance")).map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual([
        ["instance_id", "text", "NO"],
        ["consumer", "text", "NO"],
        ["host", "text", "NO"],
        ["pid", "integer", "NO"],
        ["version", "text", "NO"],
        ["event_types", "ARRAY", "NO"],
        ["heartbeat_interval_ms", "integer", "NO"],
        ["started_at", "timestamp with time zone", "NO"],
        ["last_seen_at", "timestamp with time zone", "NO"],
      ]);
      const indexes = await client.query(
        "SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'dispatcher_consumer_instance' ORDER BY 1",
        [schema],
      );
      expect(indexes.rows.map((r) => r.indexname)).toEqual(["dispatcher_consumer_instance_consumer", "dispatcher_consumer_instance_pkey"]);
    });

    it("the upgraded tables take what the console writes, and a second apply is a no-op", async () => {
      await client.query(
        `UPDATE ${t("dispatcher_cursor")} SET paused_at = now(), paused_by = 'per_ops' ` +
          `WHERE consumer = 'coaching' AND event_type = 'credit.locked'`,
      );
      await client.query(`INSERT INTO ${t("dispatcher_consumer_instance")}
          (instance_id, consumer, host, pid, version, event_types, heartbeat_interval_ms)
        VALUES ('ins_1', 'coaching', 'host', 1, '2.2.0', '{credit.locked,credit.reserved}', 10000)`);
      const paused = await client.query(`SELECT event_type, paused_by FROM ${t("dispatcher_cursor")} WHERE paused_at IS NOT NULL`);
      expect(paused.rows).toEqual([{ event_type: "credit.locked", paused_by: "per_ops" }]);
      const instance = await client.query(
        `SELECT event_types, started_at = last_seen_at AS fresh FROM ${t("dispatcher_consumer_instance")}`,
      );
      expect(instance.rows).toEqual([{ event_types: ["credit.locked", "credit.reserved"], fresh: true }]);
      expect(await applyDispatcherMigrations({ connectionString: db.url, schema })).toEqual({
        applied: [],
        alreadyApplied: [...OLDER, CONSOLE],
      });
    });
  });
}
