// pnpm bench consume: drain throughput from a 20,000-event backlog through a no-op handler, and
// end-to-end latency (producer commit -> handler entry) at a steady 200 events/s, each next to a
// naive `id > cursor` reader (no dedup, no cursor table, no ordering guarantee) in the same run.
import pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { createDispatcher, uncataloged } from "../dist/index.js";
import { benchDatabase, fmt, percentile } from "./support.mjs";

const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 20_000);
const RATE = 200;
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const db = await benchDatabase();
const producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
const id = (p) => `${p}_${uuidv7()}`;
const emit = () => ({
  event_type: "credit.locked",
  payload: {
    credit_reservation_id: id("crr"),
    lesson_id: id("les"),
    person_id: id("per"),
    locked_credits: 1,
    locked_at: new Date().toISOString(),
  },
});

async function backlog(n) {
  await db.pool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup");
  for (let i = 0; i < n; i += 1000) await producer.publishMany(Array.from({ length: Math.min(1000, n - i) }, emit));
}

async function drainDispatcher(batchSize) {
  await backlog(BACKLOG);
  let seen = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  const consumer = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", databaseUrl: db.url });
  consumer.subscribe("credit.locked", () => {
    seen += 1;
    if (seen === BACKLOG) done();
  });
  const started = performance.now();
  // batchSize undefined: the defaults (50, growing to maxBatchSize 500 while a backlog lasts).
  await consumer.start({ consumer: "bench", ...(batchSize === undefined ? {} : { batchSize }), pollIntervalMs: 1000 });
  await finished;
  const ms = performance.now() - started;
  await consumer.close();
  return (BACKLOG / ms) * 1000;
}

async function drainNaive() {
  await backlog(BACKLOG);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  let cursor = 0;
  let seen = 0;
  const started = performance.now();
  while (seen < BACKLOG) {
    const { rows } = await client.query(
      "SELECT id, event_id, event_type, payload FROM dispatcher_event WHERE id > $1 ORDER BY id LIMIT 1000",
      [cursor],
    );
    for (const row of rows) {
      seen += 1;
      cursor = Number(row.id);
    }
  }
  const ms = performance.now() - started;
  await client.end();
  return (BACKLOG / ms) * 1000;
}

// Publishes one event per 5 ms, each in its own transaction; latency = handler entry - commit returned.
async function steadyLatency(startConsumer) {
  await db.pool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup");
  const committedAt = new Map();
  const latencies = [];
  const onEvent = (eventId) => {
    const t = committedAt.get(eventId);
    if (t !== undefined) latencies.push(performance.now() - t);
  };
  const stop = await startConsumer(onEvent);
  const total = RATE * LATENCY_SECONDS;
  const client = await db.pool.connect();
  const started = performance.now();
  for (let i = 0; i < total; i += 1) {
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await client.query("BEGIN");
    const envelope = await producer.publish(emit(), { tx: client });
    await client.query("COMMIT");
    committedAt.set(envelope.event_id, performance.now());
  }
  client.release();
  const deadline = performance.now() + 10_000;
  while (latencies.length < total * 0.999 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await stop();
  const sorted = latencies.sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

// A consumer of credit.locked, and optionally of `extraTypes` more types that see no traffic (type fan-in).
const dispatcherConsumer =
  (options = {}) =>
  async (onEvent) => {
    const consumer = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", databaseUrl: db.url });
    consumer.subscribe("credit.locked", (event) => onEvent(event.event_id));
    const idle = consumer.registry.eventTypes.filter((t) => t !== "credit.locked").slice(0, options.extraTypes ?? 0);
    for (const type of idle) consumer.subscribe(uncataloged(type), () => undefined);
    await consumer.start({ consumer: "bench", pollIntervalMs: 1000, ...(options.synchronousCommit ? { synchronousCommit: true } : {}) });
    await new Promise((r) => setTimeout(r, 200));
    return () => consumer.close();
  };

const naiveConsumer = async (onEvent) => {
  const reader = new pg.Client({ connectionString: db.url });
  const listener = new pg.Client({ connectionString: db.url });
  await reader.connect();
  await listener.connect();
  let cursor = 0;
  let running = true;
  let wake;
  listener.on("notification", () => wake?.());
  await listener.query("LISTEN dispatcher_event_inserted");
  const loop = (async () => {
    while (running) {
      const { rows } = await reader.query("SELECT id, event_id FROM dispatcher_event WHERE id > $1 ORDER BY id LIMIT 1000", [cursor]);
      for (const row of rows) {
        cursor = Number(row.id);
        onEvent(row.event_id);
      }
      if (rows.length === 0)
        await new Promise((r) => {
          wake = r;
          setTimeout(r, 1000);
        });
    }
  })();
  return async () => {
    running = false;
    wake?.();
    await loop;
    await reader.end();
    await listener.end();
  };
};

console.log(
  `consume benchmark (${db.source} PostgreSQL with fsync on; ` +
    `producers commit durably, the consumer with its default synchronousCommit: false; 2 cores)`,
);
const naiveDrain = await drainNaive();
const drainDefault = await drainDispatcher(undefined);
const drainFixed = await drainDispatcher(50);
const drainLarge = await drainDispatcher(500);
console.log(`drain of a ${fmt(BACKLOG)}-event backlog through a no-op handler`);
console.log(`  naive id > cursor reader (baseline)   ${fmt(naiveDrain)} events/s`);
console.log(
  `  dispatcher, defaults (50 growing to 500)  ${fmt(drainDefault)} events/s  (target >= 30,000: ${drainDefault >= 30_000 ? "met" : "NOT met"})`,
);
console.log(`  dispatcher, batchSize 50 (fixed)      ${fmt(drainFixed)} events/s`);
console.log(`  dispatcher, batchSize 500 (fixed)     ${fmt(drainLarge)} events/s`);
const naive = await steadyLatency(naiveConsumer);
const ours = await steadyLatency(dispatcherConsumer());
const fanIn = await steadyLatency(dispatcherConsumer({ extraTypes: 24 }));
const durable = await steadyLatency(dispatcherConsumer({ synchronousCommit: true }));
console.log(`end-to-end latency, commit -> handler entry, steady ${RATE} events/s for ${LATENCY_SECONDS} s`);
console.log(
  `  naive id > cursor reader + LISTEN     p50 ${fmt(naive.p50, 2)} ms  p95 ${fmt(naive.p95, 2)} ms  ` +
    `p99 ${fmt(naive.p99, 2)} ms  (${naive.n} events)`,
);
console.log(
  `  dispatcher                            p50 ${fmt(ours.p50, 2)} ms  p95 ${fmt(ours.p95, 2)} ms  ` +
    `p99 ${fmt(ours.p99, 2)} ms  (${ours.n} events; target p99 <= 5 ms: ${ours.p99 <= 5 ? "met" : "NOT met"})`,
);
console.log(
  `  dispatcher, synchronousCommit: true   p50 ${fmt(durable.p50, 2)} ms  p95 ${fmt(durable.p95, 2)} ms  ` +
    `p99 ${fmt(durable.p99, 2)} ms  (${durable.n} events)`,
);
console.log(`type fan-in: the same consumer subscribed to 25 types, traffic on one`);
console.log(
  `  dispatcher, 25 types                  p50 ${fmt(fanIn.p50, 2)} ms  p95 ${fmt(fanIn.p95, 2)} ms  ` +
    `p99 ${fmt(fanIn.p99, 2)} ms  (${fanIn.n} events; p99 ${fmt(fanIn.p99 / ours.p99, 2)}x of one type, ` +
    `target <= 1.25x: ${fanIn.p99 <= ours.p99 * 1.25 ? "met" : "NOT met"})`,
);
await producer.close();
await db.close();
