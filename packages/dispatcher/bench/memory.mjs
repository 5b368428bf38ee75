// pnpm bench memory: the consumer's RSS across a 1,000,000-event drain (env BENCH_MEMORY_EVENTS),
// sampled every 10% after a warm-up; target (issue 13): flat within 20%. The backlog is written
// server-side (generate_series), so the process measured is the consumer's alone.
import { createDispatcher } from "../dist/index.js";
import { benchDatabase, fmt } from "./support.mjs";

const N = Number(process.env.BENCH_MEMORY_EVENTS ?? 1_000_000);
const db = await benchDatabase();
const payload = JSON.stringify({
  credit_reservation_id: "crr_0190f5a2-7c3e-7a11-8b2c-3d4e5f607182",
  lesson_id: "les_0190f5a2-7c3e-7a11-8b2c-3d4e5f607182",
  person_id: "per_0190f5a2-7c3e-7a11-8b2c-3d4e5f607182",
  locked_credits: 1,
  locked_at: "2026-06-01T15:00:00Z",
});
for (let from = 1; from <= N; from += 100_000) {
  await db.pool.query(
    `INSERT INTO dispatcher_event (event_id, event_type, schema_version, tenant_id, producer, occurred_at, actor, payload)
     SELECT 'evt_m' || g, 'credit.locked', 1, 'tnt_sguild', 'revenue', now(), 'system:revenue', $3::jsonb
     FROM generate_series($1::bigint, $2::bigint) g`,
    [from, Math.min(N, from + 99_999), payload],
  );
}
const samples = [];
let seen = 0;
let done;
const finished = new Promise((r) => (done = r));
const consumer = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", databaseUrl: db.url });
consumer.subscribe("credit.locked", () => {
  seen += 1;
  if (seen % (N / 10) === 0) samples.push({ at: seen, rss: process.memoryUsage().rss });
  if (seen === N) done();
});
const started = performance.now();
await consumer.start({ consumer: "bench" });
await finished;
const seconds = (performance.now() - started) / 1000;
await consumer.close();
await db.close();
const mb = (b) => fmt(b / 1024 / 1024, 1);
const steady = samples.slice(1); // the first 10% is the warm-up (JIT, pools, prepared statements)
const low = Math.min(...steady.map((s) => s.rss));
const high = Math.max(...steady.map((s) => s.rss));
console.log(`memory benchmark: ${fmt(N)} events drained in ${fmt(seconds, 1)} s (${fmt(N / seconds)} events/s)`);
console.log(`  RSS at each 10%: ${samples.map((s) => `${mb(s.rss)} MB`).join(", ")}`);
console.log(
  `  after warm-up: ${mb(low)} to ${mb(high)} MB, ${fmt((high / low - 1) * 100, 1)}% apart ` +
    `(target <= 20%: ${high <= low * 1.2 ? "met" : "NOT met"})`,
);
