import { describe, expect, it } from "vitest";
import { PermanentFailureError, createDispatcher } from "../src/index.js";
import { runOnce } from "../src/testing/index.js";
import { lockedPayload, racedPool, useDispatcherDb } from "./helpers.js";

// A batch that fails at its k-th event is split: the k events before it are committed in a new
// transaction (the "prefix"), then the failure is counted against the failing event. Between the
// two, the cursor can move: an operator's rewind, or a replica that handled the events. The prefix
// then covers other events, and the failure must not be recorded as if the cursor sat right before
// the failing event (a dead letter would move the cursor to it, past events never applied).

const t = useDispatcherDb();

const C = "prefix_race";
const publish = (n: number) =>
  t.producer.publishMany(Array.from({ length: n }, () => ({ event_type: "credit.locked" as const, payload: lockedPayload() })));
const positionOf = async (eventId: string) =>
  (await t.db.pool.query("SELECT position::text FROM dispatcher_event WHERE event_id = $1", [eventId])).rows[0].position as string;
const cursor = async () =>
  (await t.db.pool.query("SELECT last_position::text AS p FROM dispatcher_cursor WHERE consumer = $1", [C])).rows[0].p as string;
const applied = async () =>
  Object.fromEntries(
    (await t.db.pool.query("SELECT event_id, value FROM applied WHERE consumer = $1", [C])).rows.map((r) => [r.event_id, r.value]),
  );
const letters = async () =>
  (await t.db.pool.query("SELECT event_id FROM dispatcher_dead_letter WHERE consumer = $1 ORDER BY created_at", [C])).rows.map(
    (r) => r.event_id,
  );

// The consumer's batch read: the hook runs right before the prefix's read.
const BATCH_READ = /dispatcher_events_after/;

/**
 * A consumer (batches of 5) that applies each event once into `applied`; `poisoned` fails
 * permanently, and its first failure arms `onPoison` to run before the next batch read.
 */
async function consumerWith(poisoned: string, onPoison: () => Promise<unknown>) {
  const raced = racedPool(t.db.url);
  const consumer = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: raced.pool });
  let first = true;
  consumer.subscribe("credit.locked", async (event, ctx) => {
    if (event.event_id === poisoned) {
      if (first) raced.before(BATCH_READ, onPoison);
      first = false;
      throw new PermanentFailureError("poisoned");
    }
    await ctx.tx.query(
      "INSERT INTO applied (consumer, event_id, value) VALUES ($1, $2, 1) ON CONFLICT (consumer, event_id) DO UPDATE SET value = applied.value + 1",
      [C, event.event_id],
    );
  });
  return {
    run: () => runOnce(consumer, { consumer: C, batchSize: 5, retryDelaysMs: [] }),
    hookRan: () => !first && !raced.armed(),
    close: async () => {
      await consumer.close();
      await raced.pool.end();
    },
  };
}

describe("a batch failing part-way while its cursor moves", () => {
  it("rewound by an operator before the prefix commits: no event is skipped, the failing one is dead-lettered once", async () => {
    const e = await publish(5);
    const consumer = await consumerWith("", async () => undefined);
    await consumer.run(); // e0..e4 applied, the cursor at e4
    const later = await publish(5); // e5..e9; e7 fails at index 2 of the batch e5..e9
    const poisoned = later[2]!.event_id;
    const racing = await consumerWith(poisoned, () =>
      t.producer.resetCursor({ consumer: C, eventType: "credit.locked", to: e[1]!.event_id }),
    );
    await racing.run();
    await Promise.all([consumer.close(), racing.close()]);

    expect(racing.hookRan()).toBe(true); // the rewind ran
    const everyOther = [...e, ...later].filter((x) => x.event_id !== poisoned).map((x) => x.event_id);
    expect(await applied()).toEqual(Object.fromEntries(everyOther.map((id) => [id, 1])));
    expect(await letters()).toEqual([poisoned]);
    expect(await cursor()).toBe(await positionOf(later[4]!.event_id));
  });

  it("moved past the failing event (a replica handled it) before the prefix commits: no dead letter, no step back", async () => {
    const e = await publish(5);
    const consumer = await consumerWith("", async () => undefined);
    await consumer.run();
    const later = await publish(5);
    const poisoned = later[2]!.event_id;
    // As a replica that handled e5..e7 would leave it: the cursor at e7.
    const replicaHandled = async () =>
      t.db.pool.query("UPDATE dispatcher_cursor SET last_position = $2::bigint WHERE consumer = $1", [C, await positionOf(poisoned)]);
    const racing = await consumerWith(poisoned, replicaHandled);
    await racing.run();
    await Promise.all([consumer.close(), racing.close()]);

    expect(racing.hookRan()).toBe(true);
    // e5 and e6 were the replica's to apply; this consumer applies e0..e4, e8, e9 once and records no failure of e7.
    const mine = [...e, later[3]!, later[4]!].map((x) => x.event_id);
    expect(await applied()).toEqual(Object.fromEntries(mine.map((id) => [id, 1])));
    expect(await letters()).toEqual([]);
    expect(await cursor()).toBe(await positionOf(later[4]!.event_id));
  });
});
