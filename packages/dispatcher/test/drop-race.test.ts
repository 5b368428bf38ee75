import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { createDispatcher, type Dispatcher } from "../src/index.js";
import { tablesFor } from "../src/config/index.js";
import { fromPgPool } from "../src/database/index.js";
import { dropConsumer } from "../src/status/index.js";
import { runOnce } from "../src/testing/index.js";
import { caught, lockedPayload, racedPool, until, useDispatcherDb } from "./helpers.js";

// dropConsumer refuses a consumer that runs, and a replica started after a drop begins afresh. A
// replica starting while the drop is under way must end up one or the other: seen as running (the
// drop refuses), or started after the drop, with cursors of its own. Before, one that started
// between the drop's check and its transaction kept running with its cursors deleted: it delivered
// nothing, and nothing said so.

const t = useDispatcherDb();
const tables = tablesFor("public");
const C = "drop_race";
const replicas: Dispatcher[] = [];
afterEach(async () => {
  await Promise.all(replicas.splice(0).map((d) => d.close()));
});

/** A replica of C that applies each event into `applied` (counting repeats), polling only (no LISTEN). */
function replica(): Dispatcher {
  const d = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: t.db.pool });
  d.subscribe("credit.locked", async (event, ctx) => {
    await ctx.tx.query(
      "INSERT INTO applied (consumer, event_id, value) VALUES ($1, $2, 1) ON CONFLICT (consumer, event_id) DO UPDATE SET value = applied.value + 1",
      [C, event.event_id],
    );
  });
  replicas.push(d);
  return d;
}
const start = (d: Dispatcher) => d.start({ consumer: C, pollIntervalMs: 20, listen: false, retryDelaysMs: [] });
const applied = async () =>
  Object.fromEntries(
    (await t.db.pool.query("SELECT event_id, value FROM applied WHERE consumer = $1", [C])).rows.map((r) => [r.event_id, r.value]),
  );
const publish = (n: number) =>
  t.producer.publishMany(Array.from({ length: n }, () => ({ event_type: "credit.locked" as const, payload: lockedPayload() })));

/** Three events C applied, then stopped: a consumer to drop. */
async function stoppedConsumer() {
  const events = await publish(3);
  const d = replica();
  await runOnce(d, { consumer: C, retryDelaysMs: [] });
  expect(Object.keys(await applied())).toHaveLength(3);
  return events.map((e) => e.event_id);
}

describe("dropConsumer racing a replica that starts", () => {
  it("started after the drop's first check, before its transaction: the drop refuses, the replica keeps delivering", async () => {
    const ids = await stoppedConsumer();
    const raced = racedPool(t.db.url);
    const starting = replica();
    raced.before(/^BEGIN$/, () => start(starting));
    const refused = await caught(() => dropConsumer(fromPgPool(raced.pool, false), tables, { consumer: C }));
    await raced.pool.end();
    expect(raced.armed()).toBe(false);
    expect(refused).toMatchObject({
      code: "INVALID_STATE",
      message: `consumer "${C}" is running (1 live replica): stop it before dropping it`,
    });
    const [later] = await publish(1);
    await until(async () => (await applied())[later!.event_id] === 1, 10_000, "the replica to deliver a new event");
    expect(await applied()).toEqual(Object.fromEntries([...ids, later!.event_id].map((id) => [id, 1])));
  });

  it("started while the drop's transaction runs: it waits for the drop, then begins afresh and delivers", async () => {
    const ids = await stoppedConsumer();
    // The drop's transaction waits part-way, on a row lock of one of C's dedup rows.
    const locker = new pg.Client({ connectionString: t.db.url });
    await locker.connect();
    await locker.query("BEGIN");
    await locker.query("SELECT 1 FROM dispatcher_dedup WHERE consumer = $1 AND event_id = $2 FOR UPDATE", [C, ids[0]]);
    const waiting = (like: string) =>
      t.db.count(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1",
        [like],
      );
    const dropping = dropConsumer(fromPgPool(t.db.pool, false), tables, { consumer: C });
    await until(async () => (await waiting("DELETE FROM %dispatcher_dedup%")) === 1, 10_000, "the drop to wait part-way");
    const starting = start(replica());
    await until(async () => (await waiting("%pg_advisory_xact_lock_shared%")) === 1, 10_000, "the replica's first heartbeat to wait");
    await locker.query("ROLLBACK");
    await locker.end();
    const [dropped] = await Promise.all([dropping, starting]);
    expect(dropped).toMatchObject({ consumer: C, cursors: [expect.objectContaining({ eventType: "credit.locked" })], dedup: 3 });
    // Afresh from "earliest": the three events again (their dedup rows were dropped), then a new one.
    const [later] = await publish(1);
    await until(async () => (await applied())[later!.event_id] === 1, 10_000, "the replica to deliver a new event");
    expect(await applied()).toEqual({ ...Object.fromEntries(ids.map((id) => [id, 2])), [later!.event_id]: 1 });
  });
});
