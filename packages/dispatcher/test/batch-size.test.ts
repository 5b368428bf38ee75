// Batch sizes on real PostgreSQL: a backlog grows each batch from batchSize to maxBatchSize while the
// handlers are quick; slow handlers keep it small; batchSize alone fixes it; a failure in a large
// batch is narrowed to the one event at fault and every other event is applied exactly once.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDispatcher, DispatcherConfigError, type Dispatcher, type HandlerContext } from "../src/index.js";
import { caught, lockedPayload, testDb, until, type TestDb } from "./helpers.js";

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

async function backlog(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 500) {
    const sent = await producer.publishMany(
      Array.from({ length: Math.min(500, n - i) }, () => ({ event_type: "credit.locked" as const, payload: lockedPayload() })),
    );
    ids.push(...sent.map((e) => e.event_id));
  }
  return ids;
}

/** A consumer whose handler counts events per delivery transaction (each has its own beforeCommit) and runs `work`. */
function counting(work: (eventId: string, ctx: HandlerContext<unknown>) => Promise<void> | void = () => undefined) {
  const batches = new Map<unknown, number>();
  const c = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
  running.push(c);
  c.subscribe("credit.locked", async (event, ctx) => {
    batches.set(ctx.beforeCommit, (batches.get(ctx.beforeCommit) ?? 0) + 1);
    await work(event.event_id, ctx as HandlerContext<unknown>);
  });
  return { c, sizes: () => [...batches.values()] };
}

const applied = () => db.count("SELECT count(*) AS n FROM applied");

describe("batch sizes", () => {
  it("by default a backlog doubles each batch from 50 up to 500, and the next backlog starts at 50 again", async () => {
    await backlog(2000);
    const { c, sizes } = counting();
    await c.start({ consumer: "coaching", pollIntervalMs: 50 });
    await until(() => sizes().reduce((a, b) => a + b, 0) === 2000, 20_000, "the backlog drained");
    expect(sizes()).toEqual([50, 100, 200, 400, 500, 500, 250]);
    await backlog(120);
    await until(() => sizes().reduce((a, b) => a + b, 0) === 2120, 20_000, "the second backlog drained");
    // Published while the consumer runs: delivered as it arrives (wake-ups), in batches of at most 50 then 100.
    for (const size of sizes().slice(7)) expect(size).toBeLessThanOrEqual(100);
  });

  it("handlers slower than 100 ms per batch keep it at batchSize", async () => {
    await backlog(200);
    const { c, sizes } = counting(() => new Promise((resolve) => setTimeout(resolve, 3)));
    await c.start({ consumer: "coaching", pollIntervalMs: 50 });
    await until(() => sizes().reduce((a, b) => a + b, 0) === 200, 20_000, "the backlog drained");
    expect(sizes()).toEqual([50, 50, 50, 50]);
  });

  it("batchSize alone fixes every batch; maxBatchSize lets it grow from there", async () => {
    await backlog(95);
    const fixed = counting();
    await fixed.c.start({ consumer: "fixed", batchSize: 10, pollIntervalMs: 50 });
    await until(() => fixed.sizes().reduce((a, b) => a + b, 0) === 95, 20_000, "drained at 10");
    expect(fixed.sizes()).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 5]);
    const growing = counting();
    await growing.c.start({ consumer: "growing", batchSize: 10, maxBatchSize: 40, pollIntervalMs: 50 });
    await until(() => growing.sizes().reduce((a, b) => a + b, 0) === 95, 20_000, "drained growing to 40");
    expect(growing.sizes()).toEqual([10, 20, 40, 25]);
  });

  it("refuses a maxBatchSize below batchSize, or not a positive integer, naming it; nothing starts", async () => {
    for (const [options, message] of [
      [{ batchSize: 100, maxBatchSize: 50 }, "maxBatchSize must be at least batchSize (got maxBatchSize 50, batchSize 100)"],
      [{ maxBatchSize: 20 }, "maxBatchSize must be at least batchSize (got maxBatchSize 20, batchSize 50)"],
      [{ maxBatchSize: 0 }, "maxBatchSize must be a positive integer (got 0)"],
      [{ maxBatchSize: 2.5 }, "maxBatchSize must be a positive integer (got 2.5)"],
    ] as const) {
      const { c } = counting();
      const error = await caught(() => c.start({ consumer: "coaching", ...options }));
      expect(error).toBeInstanceOf(DispatcherConfigError);
      expect([error.setting, error.message]).toEqual(["maxBatchSize", message]);
    }
    expect(await db.count("SELECT count(*) AS n FROM dispatcher_cursor")).toBe(0);
  });

  it("a failure deep in a grown batch commits the events before it, retries the one at fault, and applies every event once", async () => {
    const ids = await backlog(1000);
    const poisoned = ids[300]!; // the 301st event: in the third batch (events 151..350, a batch of 200)
    let failures = 0;
    const { c } = counting(async (eventId, ctx) => {
      if (eventId === poisoned && failures < 2) {
        failures += 1;
        throw new RangeError("the slot is not there yet");
      }
      await (ctx.tx as { query(sql: string, values: unknown[]): Promise<unknown> }).query(
        "INSERT INTO applied (consumer, event_id) VALUES ('coaching', $1)",
        [eventId],
      );
    });
    await c.start({ consumer: "coaching", pollIntervalMs: 50, retryDelaysMs: [20, 20, 20] });
    await until(async () => (await applied()) === 1000, 20_000, "every event applied");
    expect(failures).toBe(2);
    expect(await db.count("SELECT count(DISTINCT event_id) AS n FROM applied")).toBe(1000);
    expect(await db.count("SELECT count(*) AS n FROM dispatcher_dead_letter")).toBe(0);
    expect(await db.count("SELECT count(*) AS n FROM dispatcher_dedup WHERE consumer = 'coaching'")).toBe(1000);
  });
});
