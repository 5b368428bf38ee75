// pnpm bench fanout: events/s relayed from Revenue's database to Coaching's, database-to-database
// and over HTTP on loopback (signed CloudEvents into the inbox: a batch per relay transaction), with
// end-to-end latency from the producer's commit to the Coaching handler's entry.
import { createServer } from "node:http";
import pg from "pg";
import { startTestPostgres, createTestDatabase } from "@sguild/prisma-fragment/testing";
import { createDispatcher, createFanoutRelay, createInbox, toNodeHandler } from "../dist/index.js";
import { fmt, percentile, reservedEmit as emit } from "./support.mjs";

const TOTAL = Number(process.env.BENCH_FANOUT_EVENTS ?? 20_000);
const RATE = 50;
const server = await startTestPostgres({ fast: false });
const KEY = { id: "bench", secret: "bench-secret" };

async function run(kind) {
  const [source, target] = await Promise.all([
    createTestDatabase({ adminUrl: server.adminUrl }),
    createTestDatabase({ adminUrl: server.adminUrl }),
  ]);
  const sourcePool = new pg.Pool({ connectionString: source.url });
  const targetPool = new pg.Pool({ connectionString: target.url });
  let http;
  let destination = { kind: "database", databaseUrl: target.url };
  if (kind === "http") {
    const inbox = createInbox({ domain: "coaching", pool: targetPool, keys: { [KEY.id]: KEY.secret }, tenants: ["tnt_sguild"] });
    http = createServer(toNodeHandler(inbox));
    await new Promise((r) => http.listen(0, "127.0.0.1", r));
    destination = { kind: "http", url: `http://127.0.0.1:${http.address().port}/inbox`, key: KEY };
  }
  const relay = createFanoutRelay({
    source: { producer: "revenue", tenantId: "tnt_sguild", databaseUrl: source.url },
    destinations: { coaching: destination },
  });
  const coaching = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", databaseUrl: target.url });
  const committedAt = new Map();
  const latencies = [];
  let handled = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  coaching.subscribe("credit.reserved", (event) => {
    handled += 1;
    latencies.push(performance.now() - committedAt.get(event.event_id));
    if (handled === TOTAL) done();
  });
  await relay.start();
  await coaching.start({ consumer: "coaching" });
  const revenue = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: sourcePool });
  // Throughput: a backlog of TOTAL events, relayed and handled.
  await relay.stop();
  for (let i = 0; i < TOTAL; i += 100) {
    const envelopes = await revenue.publishMany(Array.from({ length: 100 }, emit));
    for (const e of envelopes) committedAt.set(e.event_id, 0);
  }
  const started = performance.now();
  await relay.start();
  await finished;
  const seconds = (performance.now() - started) / 1000;
  // Latency: a steady RATE events/s, one per transaction.
  latencies.length = 0;
  const steady = RATE * 5;
  const client = await sourcePool.connect();
  const t0 = performance.now();
  for (let i = 0; i < steady; i += 1) {
    const wait = t0 + (i * 1000) / RATE - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await client.query("BEGIN");
    const e = await revenue.publish(emit(), { tx: client });
    await client.query("COMMIT");
    committedAt.set(e.event_id, performance.now());
  }
  client.release();
  const deadline = performance.now() + 15_000;
  while (latencies.length < steady && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await Promise.all([relay.close(), coaching.close(), revenue.close()]);
  if (http) await new Promise((r) => http.close(r));
  await Promise.all([sourcePool.end(), targetPool.end()]);
  await Promise.all([source.drop(), target.drop()]);
  const sorted = latencies.sort((a, b) => a - b);
  return { rate: TOTAL / seconds, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

console.log(
  `fanout benchmark (${server.source} PostgreSQL, fsync on; relay and consumer at their defaults: batches of 50 growing to 500 under a backlog). ` +
    `Throughput: a backlog of ${TOTAL} credit.reserved events relayed and handled in Coaching. ` +
    `Latency: ${RATE} events/s for 5 s, one per transaction, producer commit -> Coaching handler entry.`,
);
for (const kind of ["database", "http"]) {
  const r = await run(kind);
  console.log(
    `  ${kind === "database" ? "database -> database" : "HTTP on loopback    "}  ${fmt(r.rate)} events/s   ` +
      `latency p50 ${fmt(r.p50, 1)} ms  p95 ${fmt(r.p95, 1)} ms  p99 ${fmt(r.p99, 1)} ms`,
  );
}
await server.stop();
