// JetStream transport on one real nats-server and two real PostgreSQL databases (revenue produces, coaching consumes).
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@sguild/prisma-fragment/testing";
import { createDispatcher, type Dispatcher } from "../src/index.js";
import {
  createJetStreamInbox,
  createJetStreamRelay,
  jetStreamStatus,
  type JetStreamConfig,
  type JetStreamInbox,
  type JetStreamRelay,
} from "../src/jetstream/index.js";
import { until } from "./helpers.js";
import { APPLIED_LOG_SQL, COACHING_TYPES, expectExact, ledger, locked, purchased, reserved, TENANT } from "./jetstream-fixtures.js";
import { NatsCluster } from "./nats-helpers.js";

let nats: NatsCluster;
let revenueDb: TestDatabase;
let coachingDb: TestDatabase;
let revenuePool: pg.Pool;
let coachingPool: pg.Pool;
let revenue: Dispatcher;
const closers: Array<() => Promise<unknown>> = [];
let run = 0;
let jetstream: JetStreamConfig;

beforeAll(async () => {
  nats = await NatsCluster.start(1);
  [revenueDb, coachingDb] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  revenuePool = new pg.Pool({ connectionString: revenueDb.url });
  coachingPool = new pg.Pool({ connectionString: coachingDb.url });
  await coachingPool.query(APPLIED_LOG_SQL);
  revenue = createDispatcher({ producer: "revenue", tenantId: TENANT, pool: revenuePool });
});
beforeEach(async () => {
  await revenuePool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter");
  await coachingPool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter, applied_log");
  // A stream and subject prefix per test: streams may not share subjects.
  run += 1;
  jetstream = { servers: nats.servers, stream: { name: `SGUILD_T${run}` }, subjectPrefix: `t${run}` };
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(async () => {
  await revenue?.close();
  await revenuePool?.end();
  await coachingPool?.end();
  await revenueDb?.drop();
  await coachingDb?.drop();
  await nats?.stop();
});

function relay(options: Partial<Parameters<typeof createJetStreamRelay>[0]> = {}): JetStreamRelay {
  const r = createJetStreamRelay({
    source: { producer: "revenue", tenantId: TENANT, databaseUrl: revenueDb.url },
    jetstream,
    consumerOptions: { pollIntervalMs: 50, retryDelaysMs: [50, 100, 200] },
    ...options,
  });
  closers.push(() => r.close());
  return r;
}

function inbox(options: Partial<Parameters<typeof createJetStreamInbox>[0]> = {}): JetStreamInbox {
  const i = createJetStreamInbox({
    target: { producer: "coaching", tenantId: TENANT, databaseUrl: coachingDb.url },
    jetstream,
    ackWaitMs: 2000,
    storeRetryDelaysMs: [50, 200],
    ...options,
  });
  closers.push(() => i.close());
  return i;
}

/** Coaching's own consumer of the events its inbox stores: one applied_log row per handling. */
async function coachingConsumer(): Promise<Dispatcher> {
  const d = createDispatcher({ producer: "coaching", tenantId: TENANT, databaseUrl: coachingDb.url });
  const apply = async (event: { event_id: string }, ctx: { tx: pg.PoolClient }) => {
    await ctx.tx.query("INSERT INTO applied_log (consumer, event_id) VALUES ('coaching', $1)", [event.event_id]);
  };
  for (const type of COACHING_TYPES) d.subscribe(type as "credit.locked", apply as never);
  await d.start({ consumer: "coaching", pollIntervalMs: 50 });
  closers.push(() => d.close());
  return d;
}

/** Publishes `n` events of the three types in transactions of up to 7. */
async function produce(n: number): Promise<void> {
  const kinds = [locked, reserved, purchased];
  for (let done = 0; done < n; ) {
    const size = Math.min(n - done, 1 + ((done * 7) % 7));
    await revenue.publishMany(Array.from({ length: size }, (_, i) => kinds[(done + i) % 3]!()));
    done += size;
  }
}

const consumedCount = async () => Number((await revenuePool.query("SELECT count(*) AS n FROM dispatcher_event WHERE event_type = ANY($1)", [COACHING_TYPES])).rows[0].n);
const appliedCount = async () => Number((await coachingPool.query("SELECT count(*) AS n FROM applied_log")).rows[0].n);

describe("JetStream relay and inbox on one node", () => {
  it("delivers every event the domain consumes once, in order per type; the relay's lag and the inbox's pending drain to zero", async () => {
    const r = relay();
    const i = inbox();
    await coachingConsumer();
    await r.start();
    await i.start();
    await produce(300);
    const expected = await consumedCount();
    await until(async () => (await appliedCount()) >= expected, 30_000, "every event applied in coaching");
    expectExact(await ledger(revenuePool, coachingPool), expected);
    await until(async () => (await r.pending()).every((p) => p.lagEvents === 0), 10_000, "relay caught up");
    const relayPending = await r.pending();
    expect(relayPending.map((p) => p.eventType).sort()).toEqual(r.eventTypes.slice().sort());
    expect(r.counts).toEqual({ published: 300, duplicates: 0 });
    expect(i.counts).toMatchObject({ stored: expected, duplicates: 0, terminated: {}, resyncs: 0 });
    const states = await i.pending();
    expect(states.map((s) => s.eventType).sort()).toEqual(i.eventTypes.slice().sort());
    for (const s of states) expect([s.numPending, s.numAckPending]).toEqual([0, 0]);
    const status = await jetStreamStatus({ servers: nats.servers, stream: { name: jetstream.stream.name } });
    expect(status.stream.messages).toBe(300);
    expect(status.consumers.find((c) => c.name === "sguild-coaching_credit_locked")).toMatchObject({ numPending: 0, numAckPending: 0 });
  });
});
