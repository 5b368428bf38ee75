// JetStream transport through a real three-node nats-server cluster (stream replicas 3), with the relay and
// the inbox as their own processes (kill -9), two real PostgreSQL databases, and the ledger checked exactly.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@sguild/prisma-fragment/testing";
import { createDispatcher, type Dispatcher } from "../src/index.js";
import { ensureStream, jetStreamStatus, type JetStreamConfig } from "../src/jetstream/index.js";
import { until } from "./helpers.js";
import { APPLIED_LOG_SQL, COACHING_TYPES, expectExact, ledger, locked, reserved, TENANT } from "./jetstream-fixtures.js";
import { assertBuilt, ChildService } from "./jetstream-processes.js";
import { NatsCluster } from "./nats-helpers.js";

const STREAM = "SGUILD_CLUSTER";
const PREFIX = "sguild";
const ACK_WAIT_MS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let nats: NatsCluster;
let revenueDb: TestDatabase;
let coachingDb: TestDatabase;
let revenuePool: pg.Pool;
let coachingPool: pg.Pool;
let revenue: Dispatcher;
let relay: ChildService;
let inbox: ChildService;
let jetstream: JetStreamConfig;

beforeAll(async () => {
  assertBuilt();
  [nats, revenueDb, coachingDb] = await Promise.all([NatsCluster.start(3), createTestDatabase(), createTestDatabase()]);
  revenuePool = new pg.Pool({ connectionString: revenueDb.url });
  coachingPool = new pg.Pool({ connectionString: coachingDb.url });
  await coachingPool.query(APPLIED_LOG_SQL);
  revenue = createDispatcher({ producer: "revenue", tenantId: TENANT, pool: revenuePool });
  jetstream = { servers: nats.servers, stream: { name: STREAM, replicas: 3 }, subjectPrefix: PREFIX };
  // The cluster elects its JetStream meta leader first: until then the stream cannot be created.
  await until(
    async () =>
      await ensureStream(jetstream).then(
        () => true,
        () => false,
      ),
    30_000,
    "a replicated stream on the cluster",
  );
  const args = (url: string) => [url, nats.servers.join(","), STREAM, PREFIX, "3"];
  relay = new ChildService("jetstream-relay-child.mjs", args(revenueDb.url));
  inbox = new ChildService("jetstream-inbox-child.mjs", [...args(coachingDb.url), String(ACK_WAIT_MS)]);
  await relay.start();
  await inbox.start();
}, 90_000);

afterAll(async () => {
  await relay?.kill9();
  await inbox?.kill9();
  await revenue?.close();
  await revenuePool?.end();
  await coachingPool?.end();
  await Promise.all([revenueDb?.drop(), coachingDb?.drop()]);
  await nats?.stop();
});

/** Revenue publishing in transactions of 1 to 5 events, about every 10 ms, until stopped. */
function produce(): { stop(): Promise<number> } {
  let running = true;
  let count = 0;
  const loop = (async () => {
    while (running) {
      const n = 1 + Math.floor(Math.random() * 5);
      await revenue.publishMany(Array.from({ length: n }, () => (Math.random() < 0.5 ? locked() : reserved())));
      count += n;
      await sleep(10);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return count;
    },
  };
}

/** Coaching's own consumer of what its inbox stores (one applied_log row per handling), for the length of a test. */
async function coachingConsumer(): Promise<Dispatcher> {
  const coaching = createDispatcher({ producer: "coaching", tenantId: TENANT, databaseUrl: coachingDb.url });
  for (const type of COACHING_TYPES) {
    coaching.subscribe(type as "credit.locked", async (event, ctx) => {
      await (ctx.tx as pg.PoolClient).query("INSERT INTO applied_log (consumer, event_id) VALUES ('coaching', $1)", [event.event_id]);
    });
  }
  await coaching.start({ consumer: "coaching", pollIntervalMs: 100, batchSize: 200 });
  return coaching;
}

const mostCommon = <T>(values: T[]): T | undefined =>
  values.sort((a, b) => values.filter((v) => v === b).length - values.filter((v) => v === a).length)[0];

const count = async (pool: pg.Pool, sql: string) => Number((await pool.query(sql)).rows[0].n);

/** Waits until coaching stored and applied as many events as revenue produced, then checks the ledger exactly. */
async function settle(what: string): Promise<Awaited<ReturnType<typeof ledger>>> {
  const produced = await count(revenuePool, "SELECT count(*) AS n FROM dispatcher_event");
  await until(
    async () => (await count(coachingPool, "SELECT count(DISTINCT event_id) AS n FROM applied_log")) >= produced,
    45_000,
    `${what}: every event applied`,
  );
  // Anything applied twice or stored twice would still be arriving: give it the ack wait to show.
  await sleep(ACK_WAIT_MS + 500);
  const l = await ledger(revenuePool, coachingPool);
  const [relayCounts, inboxCounts] = [await relay.ask("counts"), await inbox.ask("counts")];
  console.log(
    `ledger after ${what}: ${JSON.stringify({ ...l, missing: l.missing.length, extra: l.extra.length })}; ` +
      `relay (last process): ${JSON.stringify(relayCounts)}; inbox (last process): ${JSON.stringify(inboxCounts)}`,
  );
  expectExact(l, produced);
  expect(relay.unexpectedExits.concat(inbox.unexpectedExits)).toEqual([]);
  return l;
}

describe("JetStream on a three-node cluster, replicas 3", () => {
  it(
    "kill -9 of the stream's leader node, of the inbox consumers' leader node, of the relay, then of the inbox, mid-flow: " +
      "nothing lost, nothing applied twice, in order",
    async () => {
      const coaching = await coachingConsumer();
      const producer = produce();
      await sleep(1500);
      // The node leading the stream, then the one leading most of the inbox's consumers (messages in flight to it are lost).
      const status = await jetStreamStatus(jetstream);
      const leaders = [
        status.stream.leader,
        mostCommon(status.consumers.filter((c) => c.name.startsWith("sguild-coaching_")).map((c) => c.leader)),
      ];
      for (const leader of leaders) {
        const node = nats.nodes.find((n) => n.name === leader) ?? nats.nodes[0]!;
        await node.kill9();
        await sleep(3000);
        await node.start();
        await sleep(1500);
      }
      for (const service of [relay, inbox]) {
        await service.kill9();
        await sleep(500);
        await service.start();
        await sleep(1500);
      }
      const produced = await producer.stop();
      const l = await settle("kill -9 of two NATS nodes (one at a time), the relay and the inbox").finally(() => coaching.close());
      expect(l.produced).toBe(produced);
    },
  );

  it("the whole cluster restarted: delivery resumes where it stopped", async () => {
    const coaching = await coachingConsumer();
    const producer = produce();
    await sleep(1500);
    // Every node shut down (SIGTERM: each flushes its store), then started again.
    await Promise.all(nats.nodes.map((n) => n.stop()));
    // Revenue keeps committing while NATS is down: the relay's cursor holds them.
    await sleep(3000);
    await Promise.all(nats.nodes.map((n) => n.start()));
    await sleep(3000);
    await producer.stop();
    const l = await settle("a whole-cluster restart").finally(() => coaching.close());
    expect(l.produced).toBeGreaterThan(0);
  });
});
