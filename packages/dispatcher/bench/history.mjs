// pnpm bench history: drain and latency with 0, 100,000 and 1,000,000 delivered events (and their
// dedup rows) already in the tables, each size on its own fresh database of a durable embedded
// PostgreSQL. Target (issue 13): within 1.2x of the empty database.
import { v7 as uuidv7 } from "uuid";
import { createDispatcher } from "../dist/index.js";
import { benchDatabase, fmt, percentile } from "./support.mjs";

const SIZES = (process.env.BENCH_HISTORY_SIZES ?? "0,100000,1000000").split(",").map(Number);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 20_000);
const RATE = 200;
const SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const id = (p) => `${p}_${uuidv7()}`;
const payload = () => ({
  credit_reservation_id: id("crr"),
  lesson_id: id("les"),
  person_id: id("per"),
  locked_credits: 1,
  locked_at: new Date().toISOString(),
});

// Delivered history: n sequenced events, the consumer's dedup row for each, its cursor past them.
async function seed(db, n) {
  if (n === 0) return;
  for (let from = 1; from <= n; from += 100_000) {
    const to = Math.min(n, from + 99_999);
    await db.pool.query(
      `INSERT INTO dispatcher_event
         (event_id, event_type, schema_version, tenant_id, producer, occurred_at, actor, payload, position, sequenced_at)
       SELECT 'evt_h' || g, 'credit.locked', 1, 'tnt_sguild', 'revenue', now(), 'system:revenue', $3::jsonb, g, now()
       FROM generate_series($1::bigint, $2::bigint) g`,
      [from, to, JSON.stringify(payload())],
    );
    await db.pool.query(
      `INSERT INTO dispatcher_dedup (consumer, event_id) SELECT 'bench', 'evt_h' || g FROM generate_series($1::bigint, $2::bigint) g`,
      [from, to],
    );
  }
  await db.pool.query("SELECT setval('dispatcher_event_position_seq', $1)", [n]);
  await db.pool.query("INSERT INTO dispatcher_cursor (consumer, event_type, last_position) VALUES ('bench', 'credit.locked', $1)", [n]);
  await db.pool.query("VACUUM ANALYZE dispatcher_event");
  await db.pool.query("VACUUM ANALYZE dispatcher_dedup");
  await db.pool.query("CHECKPOINT"); // the seeding's WAL written out now, not during the measurement
}

async function drain(db, producer) {
  for (let i = 0; i < BACKLOG; i += 1000)
    await producer.publishMany(
      Array.from({ length: Math.min(1000, BACKLOG - i) }, () => ({ event_type: "credit.locked", payload: payload() })),
    );
  let seen = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  const consumer = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", databaseUrl: db.url });
  consumer.subscribe("credit.locked", () => void (++seen === BACKLOG && done()));
  const started = performance.now();
  await consumer.start({ consumer: "bench" });
  await finished;
  const rate = (BACKLOG / (performance.now() - started)) * 1000;
  await consumer.close();
  return rate;
}

async function latency(db, producer) {
  const committedAt = new Map();
  const latencies = [];
  const consumer = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", databaseUrl: db.url });
  consumer.subscribe("credit.locked", (event) => {
    const t = committedAt.get(event.event_id);
    if (t !== undefined) latencies.push(performance.now() - t);
  });
  await consumer.start({ consumer: "bench" });
  const client = await db.pool.connect();
  const total = RATE * SECONDS;
  const started = performance.now();
  for (let i = 0; i < total; i += 1) {
    const wait = started + (i * 1000) / RATE - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await client.query("BEGIN");
    const envelope = await producer.publish({ event_type: "credit.locked", payload: payload() }, { tx: client });
    await client.query("COMMIT");
    committedAt.set(envelope.event_id, performance.now());
  }
  client.release();
  const deadline = performance.now() + 10_000;
  while (latencies.length < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await consumer.close();
  const sorted = latencies.sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

console.log(
  `history benchmark (durable embedded PostgreSQL, 2 cores): ` +
    `drain of ${fmt(BACKLOG)} events and latency at ${RATE}/s for ${SECONDS} s, with delivered history`,
);
const rows = [];
for (const size of SIZES) {
  const db = await benchDatabase();
  const seeding = performance.now();
  await seed(db, size);
  const seeded = (performance.now() - seeding) / 1000;
  const producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
  const rate = await drain(db, producer);
  const lat = await latency(db, producer);
  rows.push({ size, rate, ...lat });
  console.log(
    `  ${fmt(size).padStart(9)} delivered events  drain ${fmt(rate).padStart(7)} events/s  ` +
      `p50 ${fmt(lat.p50, 2)} ms  p95 ${fmt(lat.p95, 2)} ms  p99 ${fmt(lat.p99, 2)} ms  (seeded in ${fmt(seeded, 1)} s)`,
  );
  await producer.close();
  await db.close();
}
const base = rows[0];
for (const row of rows.slice(1)) {
  const drainRatio = base.rate / row.rate;
  const p99Ratio = row.p99 / base.p99;
  console.log(
    `  ${fmt(row.size)}: drain ${fmt(drainRatio, 2)}x slower, p99 ${fmt(p99Ratio, 2)}x of ${fmt(base.size)} ` +
      `(target <= 1.2x: ${drainRatio <= 1.2 && p99Ratio <= 1.2 ? "met" : "NOT met"})`,
  );
}
