import { afterEach, describe, expect, it } from "vitest";
import { createDispatcher, type Dispatcher } from "../src/index.js";
import { lockedPayload, reservedPayload, until, useDispatcherDb } from "./helpers.js";

// A failed event is retried after its delay, whatever else wakes the loop meanwhile. The loop used to
// keep a retry time only for the cycle that scheduled it: a notification for another type (or any
// extra cycle) replaced it with the poll interval, so with steady traffic on another type the retry
// never came; and after a restart a retry already scheduled waited for the first poll.

const t = useDispatcherDb();
const C = "retry_wake";
const running: Dispatcher[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.close()));
});

/** Attempts at the failing event: [ms since the first attempt, attempt number]. */
let attempts: Array<[number, number]> = [];
let first = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function consumer(retryDelaysMs: number[]): Promise<Dispatcher> {
  const d = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: t.db.pool, databaseUrl: t.db.url });
  d.subscribe("credit.locked", async (_event, ctx) => {
    if (ctx.attempt === 1) first = Date.now();
    attempts.push([Date.now() - first, ctx.attempt]);
    if (ctx.attempt === 1) throw new Error("fails once");
  });
  d.subscribe("credit.reserved", async () => undefined);
  running.push(d);
  // A poll interval far past the test: only the retry time can bring the retry.
  await d.start({ consumer: C, pollIntervalMs: 120_000, retryDelaysMs });
  return d;
}

describe("a scheduled retry", () => {
  it("comes after its delay while another type's events keep waking the loop", async () => {
    attempts = [];
    await consumer([300]);
    await t.producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
    await until(() => attempts.length === 1, 10_000, "the first attempt");
    // Another type's event every 100 ms, each a NOTIFY that wakes the loop before the retry is due.
    const deadline = Date.now() + 5_000;
    while (attempts.length < 2 && Date.now() < deadline) {
      await t.producer.publish({ event_type: "credit.reserved", payload: reservedPayload() });
      await sleep(100);
    }
    expect(attempts.map(([, n]) => n)).toEqual([1, 2]);
    // The delay is 300 ms plus up to 30% jitter; the loop is not held to the millisecond.
    expect(attempts[1]![0]).toBeGreaterThanOrEqual(300);
    expect(attempts[1]![0]).toBeLessThan(2_000);
  });

  it("scheduled before a restart comes after its delay, not at the restarted loop's first poll", async () => {
    attempts = [];
    const before = await consumer([1_500]);
    await t.producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
    await until(() => attempts.length === 1, 10_000, "the first attempt");
    await until(
      async () =>
        (await t.db.count("SELECT count(*)::int AS n FROM dispatcher_cursor WHERE consumer = $1 AND retry_at IS NOT NULL", [C])) === 1,
      10_000,
      "the retry to be scheduled",
    );
    await before.close();
    running.splice(running.indexOf(before), 1);
    await consumer([1_500]);
    await until(() => attempts.length === 2, 6_000, "the retry after the restart");
    expect(attempts.map(([, n]) => n)).toEqual([1, 2]);
    expect(attempts[1]![0]).toBeGreaterThanOrEqual(1_500);
    expect(attempts[1]![0]).toBeLessThan(4_000);
  });
});
