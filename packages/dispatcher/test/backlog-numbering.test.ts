// A backlog larger than the loop's in-line sequencer statement (DEFAULTS.sequencer.inline) is numbered
// in chunks (DEFAULTS.sequencer.batch) in the background
// while the consumer delivers what is already numbered: deliveries start before numbering ends, every
// event arrives once and in position order, and stop() in the middle leaves nothing half done.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDispatcher, type Dispatcher } from "../src/index.js";
import { DEFAULTS } from "../src/config/defaults.js";
import { publishBacklog, testDb, until, type TestDb } from "./helpers.js";

let db: TestDb;
let producer: Dispatcher;
const running: Dispatcher[] = [];
const N = DEFAULTS.sequencer.batch * 2 + 2000;

beforeAll(async () => {
  db = await testDb();
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
});
beforeEach(async () => {
  await db.pool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter, applied");
  await publishBacklog(db, producer, N);
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.close()));
});
afterAll(async () => {
  await producer.close();
  await db.drop();
});

function consumer(seen: string[]): Dispatcher {
  const c = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
  running.push(c);
  c.subscribe("credit.locked", async (event, ctx) => {
    seen.push(event.event_id);
    await ctx.tx.query("INSERT INTO applied (consumer, event_id) VALUES ('coaching', $1)", [event.event_id]);
  });
  return c;
}

const inPositionOrder = async () =>
  (await db.pool.query("SELECT event_id FROM dispatcher_event ORDER BY position")).rows.map((r) => r.event_id as string);

describe("a backlog numbered while it is delivered", () => {
  it(`delivers ${N} unnumbered events once each, in position order, the first before the last is numbered`, async () => {
    const seen: string[] = [];
    await consumer(seen).start({ consumer: "coaching", pollIntervalMs: 60_000 });
    await until(() => seen.length === N, 60_000, "every event delivered");
    expect(seen).toEqual(await inPositionOrder());
    expect(await db.count("SELECT count(*) AS n FROM applied")).toBe(N);
    expect(await db.count("SELECT count(DISTINCT event_id) AS n FROM applied")).toBe(N);
    // The overlap: a delivery committed before the sequencer numbered the backlog's last chunk.
    const { rows } = await db.pool.query(
      "SELECT (SELECT min(delivered_at) FROM dispatcher_dedup) < (SELECT max(sequenced_at) FROM dispatcher_event) AS overlapped",
    );
    expect(rows[0].overlapped).toBe(true);
  });

  it("stop() while the backlog is being numbered returns cleanly; a restart delivers the rest once, in order", async () => {
    const seen: string[] = [];
    const first = consumer(seen);
    await first.start({ consumer: "coaching", pollIntervalMs: 60_000 });
    await until(() => seen.length > 0, 20_000, "the first deliveries");
    await first.stop();
    const unnumberedAtStop = await db.count("SELECT count(*) AS n FROM dispatcher_event WHERE position IS NULL");
    const restarted = consumer(seen);
    await restarted.start({ consumer: "coaching", pollIntervalMs: 60_000 });
    await until(() => seen.length === N, 60_000, "every event delivered after the restart");
    expect(seen).toEqual(await inPositionOrder());
    expect(await db.count("SELECT count(DISTINCT event_id) AS n FROM applied")).toBe(N);
    expect(await db.count("SELECT count(*) AS n FROM applied")).toBe(N);
    expect(await db.count("SELECT count(*) AS n FROM dispatcher_event WHERE position IS NULL")).toBe(0);
    expect(unnumberedAtStop).toBeLessThan(N);
  });

  it("a chunk numbered in the background wakes the consumers of other processes, not only its own loop", async () => {
    // An idle consumer, caught up, polling once a minute: only a notification can wake it.
    await db.pool.query("TRUNCATE dispatcher_event, applied");
    const idleSeen: string[] = [];
    const idle = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", databaseUrl: db.url });
    running.push(idle);
    idle.subscribe("credit.locked", (event) => void idleSeen.push(event.event_id));
    await idle.start({ consumer: "idle", pollIntervalMs: 60_000 });
    // A backlog committed with no notification at all (the trigger off), then numbered by another
    // consumer's loop: 500 in line, the rest in background chunks, each notifying "*".
    await db.pool.query("ALTER TABLE dispatcher_event DISABLE TRIGGER dispatcher_event_notify");
    try {
      await publishBacklog(db, producer, N);
    } finally {
      await db.pool.query("ALTER TABLE dispatcher_event ENABLE TRIGGER dispatcher_event_notify");
    }
    const otherSeen: string[] = [];
    const started = Date.now();
    await consumer(otherSeen).start({ consumer: "coaching", pollIntervalMs: 60_000 });
    await until(() => otherSeen.length === N && idleSeen.length === N, 30_000, "both consumers to have every event");
    expect(Date.now() - started).toBeLessThan(30_000); // the idle consumer's poll (60 s) never came
    const order = await inPositionOrder();
    expect(idleSeen).toEqual(order);
    expect(otherSeen).toEqual(order);
  });
});
