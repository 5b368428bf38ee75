import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@sguild/prisma-fragment/testing";
import { createDispatcher, type Dispatcher } from "../src/index.js";
import { PrismaClient } from "./generated/prisma/client.js";
import { lockedPayload, until } from "./helpers.js";

let db: TestDatabase;
let pool: pg.Pool;
let d: Dispatcher;

beforeAll(async () => {
  db = await createTestDatabase({ schema: "sguild_events" });
  pool = new pg.Pool({ connectionString: db.url });
  d = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool, databaseUrl: db.url, schema: "sguild_events" });
});
afterAll(async () => {
  await d.close();
  await pool.end();
  await db.drop();
});

it("publishes, consumes, dead-letters and reports status in a non-public schema, touching nothing in public", async () => {
  const seen: string[] = [];
  const [good, bad] = await d.publishMany([
    { event_type: "credit.locked", payload: lockedPayload() },
    { event_type: "credit.locked", payload: lockedPayload() },
  ]);
  d.subscribe("credit.locked", (event) => {
    if (event.event_id === bad!.event_id) throw new Error("poison");
    seen.push(event.event_id);
  });
  await d.start({ consumer: "coaching", pollIntervalMs: 20, retryDelaysMs: [] });
  await until(async () => (await d.deadLetters.list("coaching")).length === 1);
  await d.stop();
  // (the good event's handler may have run twice: its first transaction rolled back with the batch)
  expect([...new Set(seen)]).toEqual([good!.event_id]);
  expect(await d.status("coaching")).toMatchObject([
    { consumer: "coaching", eventType: "credit.locked", lagEvents: 0, activeDeadLetters: 1 },
  ]);
  const counts = (
    await pool.query(
      "SELECT (SELECT count(*) FROM sguild_events.dispatcher_event)::int AS events, " +
        "(SELECT count(*) FROM sguild_events.dispatcher_dedup)::int AS dedup",
    )
  ).rows[0];
  expect(counts).toEqual({ events: 2, dedup: 1 });
  const publicTables = (
    await pool.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")
  ).rows.map((r) => r.table_name);
  expect(publicTables).toEqual(["_prisma_migrations"]);
});

it("refuses to start on a database without the newest fragment migration, naming it, and creates no cursor", async () => {
  const outdated = await createTestDatabase({ schema: "sguild_old" });
  const old = new pg.Pool({ connectionString: outdated.url });
  try {
    await old.query('DROP FUNCTION sguild_old."dispatcher_events_after"(text, bigint, integer)');
    const consumer = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: old, schema: "sguild_old" });
    consumer.subscribe("credit.locked", () => undefined);
    const error = await consumer.start({ consumer: "coaching" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: "SCHEMA_OUTDATED",
      details: { migration: "20261202000000_index_reads", missing: 'function "sguild_old"."dispatcher_events_after"' },
    });
    expect((await old.query("SELECT count(*)::int AS n FROM sguild_old.dispatcher_cursor")).rows[0].n).toBe(0);
    await consumer.close();
  } finally {
    await old.end();
    await outdated.drop();
  }
});

it("refuses to publish into a schema without the dispatcher's migration: SCHEMA_OUTDATED naming it, on pg and on Prisma", async () => {
  // `public` of this database never got the fragment's migrations (they went to sguild_events).
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url }) });
  const onPg = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool, schema: "public" });
  const onPrisma = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", prismaClient: prisma, schema: "public" });
  const expected = {
    code: "SCHEMA_OUTDATED",
    details: { migration: "20261123000000_dispatcher", missing: 'table "public"."dispatcher_event"' },
  };
  try {
    const emit = () => ({ event_type: "credit.locked" as const, payload: lockedPayload() });
    for (const publish of [() => onPg.publish(emit()), () => onPrisma.publish(emit())]) {
      const error = await publish().catch((e: unknown) => e);
      expect(error).toMatchObject(expected);
      expect((error as Error).cause).toBeDefined(); // the driver's own error, kept
    }
    // Inside the caller's transaction too; the caller rolls it back.
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const error = await onPg.publish({ event_type: "credit.locked", payload: lockedPayload() }, { tx: client }).catch((e: unknown) => e);
      expect(error).toMatchObject(expected);
      await client.query("ROLLBACK");
    } finally {
      client.release();
    }
  } finally {
    await onPg.close();
    await onPrisma.close();
    await prisma.$disconnect();
  }
});
