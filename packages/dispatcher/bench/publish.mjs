// pnpm bench publish: events/s of dispatcher.publish inside a transaction next to a raw INSERT of
// the same row in the same kind of transaction, interleaved rounds in one run, and their ratio.
import { v7 as uuidv7 } from "uuid";
import { createDispatcher } from "../dist/index.js";
import { benchDatabase, fmt } from "./support.mjs";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 1500);
const db = await benchDatabase();
const dispatcher = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
const id = (p) => `${p}_${uuidv7()}`;
const payload = () => ({
  credit_reservation_id: id("crr"),
  lesson_id: id("les"),
  person_id: id("per"),
  locked_credits: 6,
  locked_at: new Date().toISOString(),
});
const RAW = `INSERT INTO dispatcher_event
    (event_id, event_type, schema_version, tenant_id, producer, occurred_at, subject, actor, correlation_id, payload, trace_context)
  VALUES ($1, $2, $3::int, $4, $5, $6::timestamptz, $7, $8, $9, $10::jsonb, $11::jsonb)`;

async function round(kind, client) {
  const started = performance.now();
  for (let i = 0; i < PER_ROUND; i += 1) {
    await client.query("BEGIN");
    if (kind === "publish") {
      await dispatcher.publish({ event_type: "credit.locked", payload: payload(), actor: "system:revenue" }, { tx: client });
    } else {
      await client.query(RAW, [
        `evt_${uuidv7()}`,
        "credit.locked",
        1,
        "tnt_sguild",
        "revenue",
        new Date().toISOString(),
        null,
        "system:revenue",
        null,
        JSON.stringify(payload()),
        null,
      ]);
    }
    await client.query("COMMIT");
  }
  return performance.now() - started;
}

const client = await db.pool.connect();
await round("publish", client); // warm-up: validators compiled, plans cached
await round("raw", client);
const totals = { publish: 0, raw: 0 };
for (let r = 0; r < ROUNDS; r += 1) {
  for (const kind of r % 2 ? ["raw", "publish"] : ["publish", "raw"]) totals[kind] += await round(kind, client);
}
client.release();
const n = ROUNDS * PER_ROUND;
const rate = (ms) => (n / ms) * 1000;
const ratio = totals.publish / totals.raw;
console.log(`publish benchmark (${db.source} PostgreSQL, durable commits, ${n} transactions each, interleaved)`);
console.log(`  raw INSERT in a transaction      ${fmt(rate(totals.raw))} events/s  (${fmt((totals.raw / n) * 1000, 1)} µs/event)`);
console.log(`  dispatcher.publish in a tx       ${fmt(rate(totals.publish))} events/s  (${fmt((totals.publish / n) * 1000, 1)} µs/event)`);
console.log(`  cost ratio publish / raw         ${fmt(ratio, 3)}x  (target <= 1.25x: ${ratio <= 1.25 ? "met" : "NOT met"})`);
await dispatcher.close();
await db.close();
