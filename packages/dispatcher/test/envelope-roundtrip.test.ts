// The envelope a handler receives is the envelope publish returned, field for field, on pg and on
// Prisma: the delivery read returns times as epoch milliseconds, and they must come back exact
// (milliseconds kept, UTC, years before 1970 and after 2038), as must a dead letter's stored envelope.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDispatcher, type Dispatcher, type EventEnvelope } from "../src/index.js";
import { id, lockedPayload, testDb, until, type TestDb } from "./helpers.js";

let db: TestDb;
let producer: Dispatcher;
const running: Dispatcher[] = [];

beforeAll(async () => {
  db = await testDb();
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
});
beforeEach(async () => {
  await db.pool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter");
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.close()));
});
afterAll(async () => {
  await producer.close();
  await db.drop();
});

const TIMES = ["2026-06-01T15:00:00.123Z", "1969-07-20T20:17:40.001Z", "2099-12-31T23:59:59.999Z", "2026-03-29T01:30:00.000Z"];

describe.each(["pg", "prisma"] as const)("on %s", (client) => {
  function consumer(): Dispatcher {
    const database = client === "pg" ? { pool: db.pool } : { prismaClient: db.prisma };
    const d = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", databaseUrl: db.url, ...database });
    running.push(d);
    return d;
  }

  it("hands each handler the published envelope exactly, occurred_at to the millisecond", async () => {
    const published: EventEnvelope[] = [];
    for (const [i, occurred_at] of TIMES.entries())
      published.push(
        await producer.publish({
          event_type: "credit.locked",
          payload: lockedPayload(),
          occurred_at,
          ...(i % 2 === 0 ? { subject: id("per"), actor: "system:revenue", correlation_id: id("evt") } : {}),
        }),
      );
    const received: EventEnvelope[] = [];
    const c = consumer();
    c.subscribe("credit.locked", (event) => {
      received.push(event);
    });
    await c.start({ consumer: "coaching", pollIntervalMs: 60_000 });
    await until(() => received.length === TIMES.length, 10_000, "every event");
    expect(received).toEqual(published);
    expect(received.map((e) => e.occurred_at)).toEqual(TIMES);
  });

  it("stores a dead letter's envelope exactly", async () => {
    const event = await producer.publish({ event_type: "credit.locked", payload: lockedPayload(), occurred_at: TIMES[1] });
    const c = consumer();
    c.subscribe("credit.locked", () => {
      throw new Error("refused");
    });
    await c.start({ consumer: "coaching", pollIntervalMs: 60_000, retryDelaysMs: [] });
    await until(async () => (await c.deadLetters.list("coaching")).length === 1, 10_000, "the dead letter");
    const [dead] = await c.deadLetters.list("coaching");
    expect(dead!.envelope).toEqual(event);
  });
});

describe("on pg, with a server that prints floats with fewer digits", () => {
  it("keeps the milliseconds when the server prints floats with fewer digits (extra_float_digits = -3)", async () => {
    await db.pool.query(`ALTER DATABASE "${new URL(db.url).pathname.slice(1)}" SET extra_float_digits = -3`);
    try {
      const event = await producer.publish({ event_type: "credit.locked", payload: lockedPayload(), occurred_at: TIMES[0] });
      // Its own pool, so its connections start with the database's setting.
      const c = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", databaseUrl: db.url });
      running.push(c);
      const received: EventEnvelope[] = [];
      c.subscribe("credit.locked", (e) => void received.push(e));
      await c.start({ consumer: "coaching", pollIntervalMs: 60_000 });
      await until(() => received.length === 1, 10_000, "the event");
      expect(received[0]!.occurred_at).toBe("2026-06-01T15:00:00.123Z");
      expect(received[0]).toEqual(event);
    } finally {
      await db.pool.query(`ALTER DATABASE "${new URL(db.url).pathname.slice(1)}" RESET extra_float_digits`);
    }
  });
});
