import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "@sguild/prisma-fragment/testing";
import { createDispatcher, createFanoutRelay, type Dispatcher } from "../src/index.js";
import { lockedPayload, testDb, until, type TestDb } from "./helpers.js";

// Issue 11, item 8: the ordering guarantee as docs/delivery-guarantees.md states it, per event type:
//  1. if transaction A committed before transaction B inserted its event, A's event is delivered first;
//  2. the events of one transaction are delivered in publish order;
//  3. events of overlapping transactions get one fixed order (their position) that every consumer sees.
// Not promised: an event whose transaction committed later may come first when the two
// transactions overlapped (both were numbered in one sequencer run, which numbers by id).

let db: TestDb;
let producer: Dispatcher;
const running: Dispatcher[] = [];

beforeAll(async () => {
  db = await testDb();
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.close()));
});
afterAll(async () => {
  await producer.close();
  await db.drop();
});

interface Published {
  name: string;
  eventId: string;
  tx: string;
  insertedAt: number;
}

/**
 * A1 inserts first and commits after B and after C inserted; D inserts after A committed and commits
 * before C. `numbered(eventIds)` runs where B's events must be numbered (before A commits), and at the end.
 */
async function timeline(database: TestDb, publisher: Dispatcher, numbered: (eventIds: string[]) => Promise<void>) {
  let clock = 0; // a logical clock over the steps below, in the order they happened
  const published: Published[] = [];
  const committedAt = new Map<string, number>();
  const txs = new Map<string, pg.PoolClient>();
  const begin = async (tx: string) => {
    const client = await database.pool.connect();
    await client.query("BEGIN");
    txs.set(tx, client);
  };
  const publish = async (tx: string, ...names: string[]) => {
    for (const name of names) {
      const e = await publisher.publish({ event_type: "credit.locked", payload: lockedPayload() }, { tx: txs.get(tx)! });
      published.push({ name, eventId: e.event_id, tx, insertedAt: ++clock });
    }
  };
  const commit = async (tx: string) => {
    await txs.get(tx)!.query("COMMIT");
    txs.get(tx)!.release();
    committedAt.set(tx, ++clock);
  };
  await begin("A");
  await publish("A", "a1"); // inserted first, committed late
  await begin("B");
  await publish("B", "b1", "b2", "b3");
  await commit("B");
  await numbered(published.filter((p) => p.tx === "B").map((p) => p.eventId)); // a1 is not committed yet
  await begin("C");
  await publish("C", "c1");
  await commit("A"); // after B committed, and after C inserted
  await begin("D");
  await publish("D", "d1"); // A committed before D inserted
  await commit("D");
  await commit("C"); // C overlapped both A and D, and committed last
  await numbered(published.map((p) => p.eventId));

  const rows = (await database.pool.query("SELECT event_id, id::bigint AS id, position::bigint AS position FROM dispatcher_event")).rows;
  const stored = new Map(rows.map((r) => [r.event_id as string, { id: Number(r.id), position: Number(r.position) }]));
  const byName = new Map(published.map((p) => [p.name, { ...p, ...stored.get(p.eventId)! }]));
  const positionOrder = [...byName.values()].sort((x, y) => x.position - y.position).map((p) => p.name);
  const idOrder = [...byName.values()].sort((x, y) => x.id - y.id).map((p) => p.name);
  return { published, committedAt, byName, positionOrder, idOrder, names: new Map(published.map((p) => [p.eventId, p.name])) };
}

const unnumbered = (database: TestDb, eventIds: string[]) =>
  until(
    async () =>
      (await database.count("SELECT count(*) AS n FROM dispatcher_event WHERE event_id = ANY($1) AND position IS NULL", [eventIds])) === 0,
    10_000,
    "numbering",
  );

describe("delivery order per event type", () => {
  it(
    "committed-before-inserted is delivered first; one transaction in publish order; " +
      "overlapping ones in one position order for every consumer",
    async () => {
      await db.pool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup");
      // No consumer runs yet: the sequencer runs exactly where the timeline says.
      const { published, committedAt, byName, positionOrder, idOrder, names } = await timeline(db, producer, async () => {
        await db.pool.query("SELECT dispatcher_sequence(1000)");
      });
      // The out-of-order commit really happened: a1 has the lowest id and comes after all of B.
      expect(idOrder).toEqual(["a1", "b1", "b2", "b3", "c1", "d1"]);
      expect(positionOrder).toEqual(["b1", "b2", "b3", "a1", "c1", "d1"]);

      // Two consumers, different batch sizes, each delivers the same order.
      const deliveries = await Promise.all(
        [
          ["first", 1],
          ["second", 50],
        ].map(async ([consumer, batchSize]) => {
          const seen: string[] = [];
          const c = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
          running.push(c);
          c.subscribe("credit.locked", (event) => void seen.push(event.event_id));
          await c.start({ consumer: consumer as string, batchSize: batchSize as number, pollIntervalMs: 50 });
          await until(() => seen.length === published.length, 10_000, `consumer ${consumer}`);
          return seen;
        }),
      );
      await new Promise((r) => setTimeout(r, 200)); // nothing more, nothing twice
      for (const seen of deliveries) expect(seen.map((eventId) => names.get(eventId))).toEqual(positionOrder);

      const delivered = deliveries[0]!.map((eventId) => names.get(eventId)!);
      const at = (name: string) => delivered.indexOf(name);
      // 1. committed before the other inserted: delivered first (every such pair; A -> d1 is one).
      let pairs = 0;
      for (const e of byName.values()) {
        for (const f of byName.values()) {
          if (committedAt.get(e.tx)! < f.insertedAt) {
            pairs += 1;
            expect(
              at(e.name),
              `${e.name} (committed at ${committedAt.get(e.tx)}) before ${f.name} (inserted at ${f.insertedAt})`,
            ).toBeLessThan(at(f.name));
          }
        }
      }
      expect(pairs).toBe(7); // b1..b3 before c1 and d1 (B committed before C and D inserted), a1 before d1
      // 2. one transaction's events in publish order.
      expect(delivered.filter((n) => n.startsWith("b"))).toEqual(["b1", "b2", "b3"]);
      // Not promised, and what happens: D committed before C, yet c1 (lower id, same sequencer run) comes first.
      expect(committedAt.get("D")!).toBeLessThan(committedAt.get("C")!);
      expect(at("c1")).toBeLessThan(at("d1"));
    },
  );

  it("through the fanout relay, the destination's consumers see the source's position order", async () => {
    const source = await testDb();
    const destination = await createTestDatabase();
    const revenue = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: source.pool });
    const relay = createFanoutRelay({
      source: { producer: "revenue", tenantId: "tnt_sguild", databaseUrl: source.url },
      destinations: { coaching: { kind: "database", databaseUrl: destination.url } },
      consumerOptions: { pollIntervalMs: 50, batchSize: 1 }, // one relay transaction per event
    });
    const seen: string[] = [];
    const coaching = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", databaseUrl: destination.url });
    coaching.subscribe("credit.locked", (event) => void seen.push(event.event_id));
    try {
      await relay.start();
      await coaching.start({ consumer: "coaching", pollIntervalMs: 50 });
      // The relay runs the source's sequencer while the timeline goes on; wait for it where the timeline needs it.
      const { positionOrder, idOrder, names } = await timeline(source, revenue, (eventIds) => unnumbered(source, eventIds));
      expect([idOrder[0], positionOrder.indexOf("a1")]).toEqual(["a1", 3]); // the out-of-order commit happened at the source
      await until(() => seen.length === 6, 15_000, "the destination's consumer");
      await new Promise((r) => setTimeout(r, 200));
      expect(seen.map((eventId) => names.get(eventId))).toEqual(positionOrder);
      const stored = new pg.Pool({ connectionString: destination.url });
      try {
        const rows = (await stored.query("SELECT event_id FROM dispatcher_event ORDER BY position")).rows;
        expect(rows.map((r) => names.get(r.event_id))).toEqual(positionOrder);
      } finally {
        await stored.end();
      }
    } finally {
      await coaching.close();
      await relay.close();
      await revenue.close();
      await source.drop();
      await destination.drop();
    }
  });
});
