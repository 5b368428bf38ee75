import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDispatcher, type Dispatcher } from "../src/index.js";
import { runOnce } from "../src/testing/index.js";
import { caught, lockedPayload, until, useDispatcherDb } from "./helpers.js";

// prune deletes the events every cursor has passed; a rewind moves a cursor back over events so
// they are delivered again. Run at the same moment they must still act as if one ran after the other:
// rewind first, the events stay and are applied; prune first, the rewind finds them gone and says so.
// Without a lock between them, a prune statement that had already read the cursors deleted the events
// a rewind committed meanwhile had reported as to be applied: they were never delivered.

const t = useDispatcherDb();
const C = "prune_rewind";

const applied = () => t.db.count("SELECT count(*)::int AS n FROM applied WHERE consumer = $1", [C]);
const stored = (ids: string[]) => t.db.count("SELECT count(*)::int AS n FROM dispatcher_event WHERE event_id = ANY($1::text[])", [ids]);
/** Sessions of this database waiting on a lock whose query matches `like`. */
const waiting = (like: string) =>
  t.db.count(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1",
    [like],
  );

/** Five events a consumer started after (startFrom "now"): its cursor has passed them, it applied none. */
async function passedOver() {
  const events = await t.producer.publishMany(
    Array.from({ length: 5 }, () => ({ event_type: "credit.locked" as const, payload: lockedPayload() })),
  );
  const consumer = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: t.db.pool });
  consumer.subscribe("credit.locked", async (event, ctx) => {
    await ctx.tx.query("INSERT INTO applied (consumer, event_id, value) VALUES ($1, $2, 1)", [C, event.event_id]);
  });
  await runOnce(consumer, { consumer: C, startFrom: "now", retryDelaysMs: [] });
  expect(await applied()).toBe(0);
  return { ids: events.map((e) => e.event_id), consumer };
}

/** A session holding a row lock until released: what makes the other side wait part-way. */
async function holding(sql: string, values: unknown[]) {
  const client = new pg.Client({ connectionString: t.db.url });
  await client.connect();
  await client.query("BEGIN");
  await client.query(sql, values);
  return async () => {
    await client.query("ROLLBACK");
    await client.end();
  };
}

describe.each(["pg", "prisma"] as const)("prune racing a rewind (operator on %s)", (client) => {
  // The operator's dispatcher, which prunes and rewinds: on a pg pool or a Prisma client.
  let operator: Dispatcher;
  beforeAll(() => {
    operator = client === "pg" ? t.producer : createDispatcher({ producer: "platform", tenantId: "tnt_sguild", prismaClient: t.db.prisma });
  });
  afterAll(async () => {
    if (client === "prisma") await operator.close();
  });

  it("prune part-way through its DELETE: the rewind waits for it, then finds the events gone and says so", async () => {
    const { ids, consumer } = await passedOver();
    // The prune's DELETE waits on a row lock of one of the events.
    const release = await holding("SELECT 1 FROM dispatcher_event WHERE event_id = $1 FOR UPDATE", [ids[2]]);
    const pruning = operator.prune({ olderThan: 0 });
    await until(async () => (await waiting("%DELETE FROM%dispatcher_event%")) === 1, 10_000, "the prune's DELETE to wait");
    const rewinding = caught(() => operator.resetCursor({ consumer: C, eventType: "credit.locked", to: ids[0]! }));
    await until(async () => (await waiting("%pg_advisory_xact_lock%")) === 1, 10_000, "the rewind to wait for the prune");
    await release();
    const [pruned, refused] = await Promise.all([pruning, rewinding]);
    expect(refused).toMatchObject({
      code: "INVALID_ARGUMENT",
      message: `no delivered-order position for event ${ids[0]}: it does not exist or is not committed yet`,
    });
    await runOnce(consumer, { consumer: C, retryDelaysMs: [] });
    await consumer.close();
    expect({ pruned: pruned.events, stored: await stored(ids), applied: await applied() }).toEqual({ pruned: 5, stored: 0, applied: 0 });
  });

  it("rewind part-way (waiting for a cursor lock): the prune waits for it, then keeps the rewound events, and all are applied", async () => {
    const { ids, consumer } = await passedOver();
    // The rewind waits on the cursor's row lock (as it would behind a delivery in flight).
    const release = await holding("SELECT 1 FROM dispatcher_cursor WHERE consumer = $1 FOR UPDATE", [C]);
    const rewinding = operator.resetCursor({ consumer: C, eventType: "credit.locked", to: ids[0]! });
    await until(async () => (await waiting("SELECT 1 FROM %dispatcher_cursor%FOR UPDATE")) === 1, 10_000, "the rewind to wait");
    const pruning = operator.prune({ olderThan: 0 });
    await until(async () => (await waiting("%pg_advisory_xact_lock%")) === 1, 10_000, "the prune to wait for the rewind");
    await release();
    const [rewound, pruned] = await Promise.all([rewinding, pruning]);
    expect(rewound.cursors).toEqual([expect.objectContaining({ events: 5, willApply: 5 })]);
    await runOnce(consumer, { consumer: C, retryDelaysMs: [] });
    await consumer.close();
    expect({ pruned: pruned.events, stored: await stored(ids), applied: await applied() }).toEqual({ pruned: 0, stored: 5, applied: 5 });
  });
});
