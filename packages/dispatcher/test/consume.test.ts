import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDispatcher, type Dispatcher, type EventEnvelope } from "../src/index.js";
import { runningConsumerLoops } from "../src/testing/index.js";
import { caught, id, lockedPayload, testDb, until, type TestDb, reservedPayload } from "./helpers.js";

let db: TestDb;
let producer: Dispatcher;
const running: Dispatcher[] = [];

beforeAll(async () => {
  db = await testDb();
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
});
beforeEach(async () => {
  await db.pool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter, applied");
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.close()));
});
afterAll(async () => {
  await producer.close();
  await db.drop();
});

function consumer(options: { pool?: boolean } = {}): Dispatcher {
  const d = createDispatcher({
    producer: "coaching",
    tenantId: "tnt_sguild",
    ...(options.pool === false ? { databaseUrl: db.url } : { pool: db.pool, databaseUrl: db.url }),
  });
  running.push(d);
  return d;
}

const reserved = () => ({
  event_type: "credit.reserved" as const,
  payload: reservedPayload(),
});

describe("no event is ever skipped", () => {
  it("delivers transactions committed in the reverse of their id order, never a rolled-back one", async () => {
    const seen: string[] = [];
    const c = consumer();
    c.subscribe("credit.locked", (event) => void seen.push(event.event_id));
    await c.start({ consumer: "coaching", pollIntervalMs: 50 });
    const [a, b, r] = await Promise.all([db.pool.connect(), db.pool.connect(), db.pool.connect()]);
    for (const client of [a, b, r]) await client.query("BEGIN");
    const first = await producer.publish({ event_type: "credit.locked", payload: lockedPayload() }, { tx: a });
    const rolledBack = await producer.publish({ event_type: "credit.locked", payload: lockedPayload() }, { tx: r });
    const second = await producer.publish({ event_type: "credit.locked", payload: lockedPayload() }, { tx: b });
    await b.query("COMMIT");
    await until(() => seen.length === 1, 10_000, "the later id to arrive");
    await a.query("COMMIT");
    await r.query("ROLLBACK");
    for (const client of [a, b, r]) client.release();
    await until(() => seen.length === 2, 10_000, "the earlier id to arrive");
    await new Promise((res) => setTimeout(res, 200));
    expect(seen).toEqual([second.event_id, first.event_id]);
    expect(seen).not.toContain(rolledBack.event_id);
  });

  it(
    "concurrent producers with overlapping transactions: " +
      "every event exactly once, in position order per type, out-of-order commits included",
    async () => {
      const seen = new Map<string, string[]>([
        ["credit.locked", []],
        ["credit.reserved", []],
      ]);
      const record = (event: EventEnvelope) => void seen.get(event.event_type)!.push(event.event_id);
      const c = consumer();
      c.subscribe("credit.locked", record);
      c.subscribe("credit.reserved", record);
      await c.start({ consumer: "coaching", pollIntervalMs: 100, batchSize: 100 });
      // a second consumer with a small batch sees the same stream independently
      const warehouseSeen: string[] = [];
      const w = consumer();
      w.subscribe("credit.locked", (event) => void warehouseSeen.push(event.event_id));
      w.subscribe("credit.reserved", (event) => void warehouseSeen.push(event.event_id));
      await w.start({ consumer: "warehouse", pollIntervalMs: 100, batchSize: 7 });
      // One transaction inserts first (the lowest ids) and commits after every producer: an
      // out-of-order commit whatever the scheduling below does.
      const late = await db.pool.connect();
      await late.query("BEGIN");
      const lateEvents = [
        {
          id: (await producer.publish({ event_type: "credit.locked", payload: lockedPayload() }, { tx: late })).event_id,
          type: "credit.locked",
        },
        { id: (await producer.publish(reserved(), { tx: late })).event_id, type: "credit.reserved" },
      ];
      // Each producer commits its transactions one after another, so its own events have a known commit order.
      const perProducer = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const committed: Array<{ id: string; type: string }> = [];
          for (let t = 0; t < 25; t += 1) {
            const client = await db.pool.connect();
            await client.query("BEGIN");
            const batch: Array<{ id: string; type: string }> = [];
            for (let i = 0; i < 10; i += 1) {
              const emit = Math.random() < 0.5 ? { event_type: "credit.locked" as const, payload: lockedPayload() } : reserved();
              batch.push({ id: (await producer.publish(emit, { tx: client })).event_id, type: emit.event_type });
              if (Math.random() < 0.2) await new Promise((r) => setTimeout(r, Math.random() * 15));
            }
            await client.query("COMMIT");
            client.release();
            committed.push(...batch);
          }
          return committed;
        }),
      );
      // Every committed event is numbered (the consumers run the sequencer) before the late one commits.
      await until(
        async () => (await db.count("SELECT count(*) AS n FROM dispatcher_event WHERE position IS NULL")) === 0,
        30_000,
        "the producers' events to be numbered",
      );
      await late.query("COMMIT");
      late.release();
      const all = [...lateEvents, ...perProducer.flat()];
      await until(() => seen.get("credit.locked")!.length + seen.get("credit.reserved")!.length >= all.length, 60_000, "all events");
      await until(() => warehouseSeen.length >= all.length, 60_000, "the second consumer");
      await new Promise((r) => setTimeout(r, 300));
      const stored = (
        await db.pool.query("SELECT event_id, event_type, id::bigint AS id, position::bigint AS position FROM dispatcher_event")
      ).rows;
      const warehouseSet = new Set(warehouseSeen);
      expect(warehouseSet.size).toBe(warehouseSeen.length);
      for (const type of ["credit.locked", "credit.reserved"]) {
        const rows = stored.filter((r) => r.event_type === type);
        const positionOrder = [...rows].sort((x, y) => Number(x.position) - Number(y.position)).map((r) => r.event_id);
        const idOrder = [...rows].sort((x, y) => Number(x.id) - Number(y.id)).map((r) => r.event_id);
        expect(positionOrder).toHaveLength(all.filter((e) => e.type === type).length);
        // The out-of-order commit really happened: the late event has the lowest id of its type and the last position.
        const lateId = lateEvents.find((e) => e.type === type)!.id;
        expect([idOrder[0], positionOrder.at(-1)]).toEqual([lateId, lateId]);
        // Every consumer delivers exactly the position order: each event once, the late one after everything committed before it.
        expect(seen.get(type)).toEqual(positionOrder);
        expect(warehouseSeen.filter((eventId) => rows.some((r) => r.event_id === eventId))).toEqual(positionOrder);
        // A producer's next transaction inserts after its previous one committed: delivered after it.
        const order = new Map(positionOrder.map((eventId, index) => [eventId, index]));
        for (const producerEvents of perProducer) {
          const mine = producerEvents.filter((e) => e.type === type).map((e) => order.get(e.id)!);
          expect(mine).toEqual([...mine].sort((x, y) => x - y));
        }
      }
      expect(all).toHaveLength(2002);
    },
  );
});

describe("once per consumer", () => {
  it("commits the handler's writes, the dedup row and the cursor together", async () => {
    const c = consumer({ pool: false });
    c.subscribe("credit.locked", async (event, ctx) => {
      await ctx.tx.query("INSERT INTO applied (consumer, event_id) VALUES ('coaching', $1)", [event.event_id]);
    });
    const published = await producer.publishMany(
      Array.from({ length: 120 }, () => ({ event_type: "credit.locked" as const, payload: lockedPayload() })),
    );
    await c.start({ consumer: "coaching", pollIntervalMs: 50 });
    await until(async () => (await db.count("SELECT count(*) AS n FROM applied")) === 120);
    await c.stop();
    expect(await db.count("SELECT count(*) AS n FROM dispatcher_dedup WHERE consumer = 'coaching'")).toBe(120);
    const cursor = (
      await db.pool.query(
        "SELECT last_position::text AS p FROM dispatcher_cursor WHERE consumer = 'coaching' AND event_type = 'credit.locked'",
      )
    ).rows[0];
    const last = (await db.pool.query("SELECT position::text AS p FROM dispatcher_event WHERE event_id = $1", [published[119]!.event_id]))
      .rows[0];
    expect(cursor.p).toBe(last.p);
  });

  it("never hands an already-delivered event to its handler again (cursor rewound)", async () => {
    const calls: string[] = [];
    const c = consumer();
    c.subscribe("credit.locked", (event) => void calls.push(event.event_id));
    const [e1, e2] = await producer.publishMany([
      { event_type: "credit.locked", payload: lockedPayload() },
      { event_type: "credit.locked", payload: lockedPayload() },
    ]);
    await db.pool.query("INSERT INTO dispatcher_dedup (consumer, event_id) VALUES ('coaching', $1)", [e1!.event_id]);
    await c.start({ consumer: "coaching", pollIntervalMs: 50 });
    await until(() => calls.length === 1);
    await db.pool.query("UPDATE dispatcher_cursor SET last_position = 0");
    const e3 = await producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
    await until(() => calls.length === 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(calls).toEqual([e2!.event_id, e3.event_id]);
  });

  it("stamps correlation_id on publishes made inside a handler", async () => {
    const coachingAsRevenue = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
    running.push(coachingAsRevenue);
    coachingAsRevenue.subscribe("credit.locked", async (event, ctx) => {
      if (event.payload.locked_credits === 6) {
        await coachingAsRevenue.publish({ event_type: "credit.locked", payload: lockedPayload({ locked_credits: 7 }) }, { tx: ctx.tx });
      }
    });
    const origin = await producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
    await coachingAsRevenue.start({ consumer: "chain", pollIntervalMs: 50 });
    await until(async () => (await db.count("SELECT count(*) AS n FROM dispatcher_event")) === 2);
    const follow = (await db.pool.query("SELECT correlation_id FROM dispatcher_event WHERE event_id <> $1", [origin.event_id])).rows[0];
    expect(follow.correlation_id).toBe(origin.event_id);
  });
});

describe("retries and dead letters", () => {
  it("dead-letters a poison event after the configured attempts while other types flow during its retries", async () => {
    const attempts: number[] = [];
    const delivered: string[] = [];
    let attemptsWhenOtherArrived = -1;
    const c = consumer();
    let poison = "";
    c.subscribe("credit.locked", async (event, ctx) => {
      if (event.event_id === poison) {
        attempts.push(ctx.attempt);
        throw new TypeError(`cannot project reservation ${event.payload.credit_reservation_id}`);
      }
      await ctx.tx.query("INSERT INTO applied (consumer, event_id) VALUES ('coaching', $1)", [event.event_id]);
      delivered.push(event.event_id);
    });
    c.subscribe("credit.reserved", (event) => {
      attemptsWhenOtherArrived = attempts.length;
      delivered.push(event.event_id);
    });
    const [before, bad, after] = await producer.publishMany([
      { event_type: "credit.locked", payload: lockedPayload() },
      { event_type: "credit.locked", payload: lockedPayload() },
      { event_type: "credit.locked", payload: lockedPayload() },
    ]);
    poison = bad!.event_id;
    await c.start({ consumer: "coaching", pollIntervalMs: 1000, retryDelaysMs: [500, 500, 500] });
    // The second attempt has begun, so the first failure is recorded: publish the other type now.
    await until(() => attempts.length >= 2, 5000, "the poison event to fail once");
    const other = await producer.publish(reserved());
    await until(() => delivered.includes(other.event_id), 5000, "the other type during retries");
    expect(delivered.includes(after!.event_id), "the event after the poison one waits for it").toBe(false);
    // The handler pushes before its transaction commits: wait for the commit itself.
    await until(
      async () => (await db.count("SELECT count(*) AS n FROM applied WHERE event_id = $1", [after!.event_id])) === 1,
      10_000,
      "the event after the poison one",
    );
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(attemptsWhenOtherArrived).toBeGreaterThanOrEqual(2);
    expect(attemptsWhenOtherArrived).toBeLessThan(4);
    // What committed: each good event exactly once (a handler whose transaction rolled back may have run again).
    const applied = (await db.pool.query("SELECT event_id FROM applied ORDER BY event_id")).rows.map((r) => r.event_id);
    expect(applied).toEqual([before!.event_id, after!.event_id].sort());
    const dlq = (await db.pool.query("SELECT * FROM dispatcher_dead_letter")).rows;
    expect(dlq).toHaveLength(1);
    expect(dlq[0]).toMatchObject({
      consumer: "coaching",
      event_id: poison,
      event_type: "credit.locked",
      error_class: "TypeError",
      error_message: `cannot project reservation ${(bad!.payload as { credit_reservation_id: string }).credit_reservation_id}`,
      attempts: 4,
      resolved_at: null,
    });
    expect(dlq[0].id).toMatch(/^dlq_/);
    expect(dlq[0].error_stack).toContain("TypeError: cannot project reservation");
    expect(dlq[0].envelope.event_id).toBe(poison);
    expect(dlq[0].last_failed_at.getTime()).toBeGreaterThan(dlq[0].first_failed_at.getTime());
    // In the database's own clock: the other type committed between the poison event's first and last failure,
    // and the event behind the poison one only after it was dead-lettered.
    const deliveredAt = async (eventId: string) =>
      (
        (await db.pool.query("SELECT delivered_at FROM dispatcher_dedup WHERE consumer = 'coaching' AND event_id = $1", [eventId])).rows[0]
          .delivered_at as Date
      ).getTime();
    const otherAt = await deliveredAt(other.event_id);
    expect(otherAt).toBeGreaterThan(dlq[0].first_failed_at.getTime());
    expect(otherAt).toBeLessThan(dlq[0].last_failed_at.getTime());
    expect(await deliveredAt(after!.event_id)).toBeGreaterThanOrEqual(dlq[0].last_failed_at.getTime());
  });

  it("counts a handler that exceeds handlerTimeoutMs as a failure", async () => {
    const c = consumer();
    c.subscribe("credit.locked", () => new Promise((r) => setTimeout(r, 500)));
    await producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
    await c.start({ consumer: "coaching", handlerTimeoutMs: 50, retryDelaysMs: [10] });
    await until(async () => (await db.count("SELECT count(*) AS n FROM dispatcher_dead_letter")) === 1);
    const row = (await db.pool.query("SELECT error_class, attempts, error_message FROM dispatcher_dead_letter")).rows[0];
    expect(row.error_class).toBe("HandlerTimeoutError");
    expect(row.attempts).toBe(2);
    expect(row.error_message).toMatch(/^handler for evt_.* did not finish within 50 ms$/);
  });
});

describe("replicas and stop()", () => {
  it("two replicas of one consumer never hand an event to handlers twice", async () => {
    const handled: string[] = [];
    const types = ["credit.locked", "credit.reserved"] as const;
    for (let r = 0; r < 2; r += 1) {
      const c = consumer();
      for (const type of types) {
        c.subscribe(type, async (event, ctx) => {
          handled.push(event.event_id);
          await ctx.tx.query("INSERT INTO applied (consumer, event_id) VALUES ('coaching', $1)", [event.event_id]);
        });
      }
      await c.start({ consumer: "coaching", pollIntervalMs: 20, batchSize: 20 });
    }
    const emits = Array.from({ length: 1000 }, (_, i) =>
      i % 2 ? reserved() : { event_type: "credit.locked" as const, payload: lockedPayload() },
    );
    for (let i = 0; i < emits.length; i += 100) await producer.publishMany(emits.slice(i, i + 100));
    await until(async () => (await db.count("SELECT count(*) AS n FROM applied")) === 1000, 60_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(handled).toHaveLength(1000);
    expect(new Set(handled).size).toBe(1000);
  });

  it("stop() during a batch lets the batch finish and starts nothing new", async () => {
    let entered = 0;
    const c = consumer();
    c.subscribe("credit.locked", async (_event, ctx) => {
      entered += 1;
      await new Promise((r) => setTimeout(r, 40));
      await ctx.tx.query("INSERT INTO applied (consumer, event_id) VALUES ('coaching', $1)", [_event.event_id]);
    });
    await producer.publishMany(Array.from({ length: 10 }, () => ({ event_type: "credit.locked" as const, payload: lockedPayload() })));
    await c.start({ consumer: "coaching", batchSize: 5, pollIntervalMs: 50 });
    await until(() => entered === 1);
    await c.stop();
    expect(entered).toBe(5);
    expect(await db.count("SELECT count(*) AS n FROM applied")).toBe(5);
    await producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
    await new Promise((r) => setTimeout(r, 200));
    expect(entered).toBe(5);
    expect(await db.count("SELECT count(*) AS n FROM dispatcher_dedup")).toBe(5);
  });

  it("refuses start() without subscriptions, twice, or with a bad option", async () => {
    const c = consumer();
    expect(await caught(() => c.start({ consumer: "coaching" }))).toMatchObject({ code: "INVALID_STATE" });
    c.subscribe("credit.locked", () => undefined);
    expect(await caught(() => c.start({ consumer: "Coaching!" }))).toMatchObject({ code: "CONFIG_INVALID", setting: "consumer" });
    expect(await caught(() => c.start({ consumer: "coaching", batchSize: 0 }))).toMatchObject({
      code: "CONFIG_INVALID",
      setting: "batchSize",
    });
    await c.start({ consumer: "coaching" });
    expect((await caught(() => c.start({ consumer: "coaching" }))).code).toBe("INVALID_STATE");
    expect((await caught(() => c.subscribe("credit.lockd" as never, () => undefined))).code).toBe("INVALID_STATE");
  });

  it("a start() that fails at the database leaves nothing running, and start() may be called again", async () => {
    const c = consumer();
    const got: string[] = [];
    c.subscribe("credit.locked", (event) => void got.push(event.event_id));
    await db.pool.query("ALTER TABLE dispatcher_cursor RENAME TO dispatcher_cursor_away");
    const failed = await caught(() => c.start({ consumer: "coaching", pollIntervalMs: 20 }));
    await db.pool.query("ALTER TABLE dispatcher_cursor_away RENAME TO dispatcher_cursor");
    expect([failed.code, runningConsumerLoops(), c.consumerLoop]).toEqual(["42P01", 0, undefined]);
    const event = await producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
    await c.start({ consumer: "coaching", pollIntervalMs: 20 });
    await until(() => got.length === 1);
    await c.stop();
    expect(got).toEqual([event.event_id]);
  });
});
