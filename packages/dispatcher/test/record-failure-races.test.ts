import { describe, expect, it } from "vitest";
import { PermanentFailureError, createDispatcher } from "../src/index.js";
import { tablesFor } from "../src/config/index.js";
import { fromPgPool } from "../src/database/index.js";
import { DeadLetterService } from "../src/dlq/index.js";
import type { StoredHandler } from "../src/consumer/index.js";
import { runOnce } from "../src/testing/index.js";
import { lockedPayload, racedPool, useDispatcherDb } from "./helpers.js";

// A failed attempt is recorded in a transaction of its own, after the attempt rolled back. What
// happened in between must not be overwritten: a replay that applied the event, or a replica that
// recorded later attempts of it. The recorder's lock statement is where the hook runs.

const t = useDispatcherDb();
const C = "record_races";
const RECORD = /AS applied/;

let failing = true;
let runs = 0;
const handler: StoredHandler = async (event, ctx) => {
  runs += 1;
  if (failing) throw new PermanentFailureError("poisoned");
  await ctx.tx.query("INSERT INTO applied (consumer, event_id, value) VALUES ($1, $2, 1)", [C, event.event_id]);
};
const letters = async () =>
  (await t.db.pool.query("SELECT resolution_note, attempts FROM dispatcher_dead_letter WHERE consumer = $1 ORDER BY created_at", [C])).rows;

describe("recording a failure after the attempt rolled back", () => {
  it("an event a replay applied meanwhile gets no second dead letter", async () => {
    const [event] = await t.producer.publishMany([{ event_type: "credit.locked", payload: lockedPayload() }]);
    const first = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: t.db.pool });
    first.subscribe("credit.locked", handler);
    await runOnce(first, { consumer: C, retryDelaysMs: [] }); // dead letter L1, the cursor past the event
    const [l1] = await first.deadLetters.list(C);
    // Rewound to deliver it again; that delivery fails too, and before its failure is recorded a
    // replay of L1 (the handler fixed) applies the event.
    await t.producer.resetCursor({ consumer: C, to: event!.event_id });
    const raced = racedPool(t.db.url);
    const racing = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: raced.pool });
    racing.subscribe("credit.locked", handler);
    const replica = new DeadLetterService(fromPgPool(t.db.pool, false), tablesFor("public"), () => ({
      consumer: C,
      handlerTimeoutMs: 5000,
      handlersFor: () => [handler],
    }));
    raced.before(RECORD, async () => {
      failing = false;
      expect((await replica.replay(l1!.id, { replayedBy: "per_operator" })).outcome).toBe("replayed");
    });
    failing = true;
    runs = 0;
    const drained = await runOnce(racing, { consumer: C, retryDelaysMs: [] });
    await Promise.all([first.close(), racing.close()]);
    await raced.pool.end();
    expect(raced.armed()).toBe(false);
    expect({ runs, failed: drained.failed, skipped: drained.skipped.map((e) => e.event_id) }).toEqual({
      runs: 2,
      failed: [],
      skipped: [event!.event_id],
    });
    expect(await letters()).toEqual([{ resolution_note: "replayed", attempts: 1 }]);
    expect(await t.db.count("SELECT count(*)::int AS n FROM applied WHERE event_id = $1", [event!.event_id])).toBe(1);
  });

  it("a late record of an earlier attempt does not lower the count a replica recorded since", async () => {
    const [event] = await t.producer.publishMany([{ event_type: "credit.locked", payload: lockedPayload() }]);
    const retryable: StoredHandler = async () => {
      runs += 1;
      throw new Error("down");
    };
    const options = { consumer: C, retryDelaysMs: [1, 1] }; // attempts 1 and 2 retried, the 3rd dead-lettered
    const raced = racedPool(t.db.url);
    const slow = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: raced.pool });
    const other = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: t.db.pool });
    slow.subscribe("credit.locked", retryable);
    other.subscribe("credit.locked", retryable);
    const pause = () => new Promise((r) => setTimeout(r, 20));
    // The slow replica's attempt 1 fails; before it is recorded, the other replica makes attempts 1 and 2.
    raced.before(RECORD, async () => {
      await runOnce(other, options);
      await pause();
      await runOnce(other, options);
      await pause();
    });
    runs = 0;
    // Its own record then finds the count moved on and leaves it; its next read makes attempt 3, the last.
    const drained = await runOnce(slow, options);
    await Promise.all([slow.close(), other.close()]);
    await raced.pool.end();
    expect(raced.armed()).toBe(false);
    expect(drained.failed.map((f) => [f.event.event_id, f.attempt, f.outcome])).toEqual([[event!.event_id, 3, "dead-lettered"]]);
    expect({ runs, letters: await letters() }).toEqual({ runs: 4, letters: [{ resolution_note: null, attempts: 3 }] });
  });
});
