// pnpm bench replicas: 1, 2 and 4 replicas of one consumer (separate processes) draining a backlog
// spread over 4 event types; total throughput should never fall as replicas are added (issue 13).
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createDispatcher } from "../dist/index.js";
import { benchDatabase, fmt } from "./support.mjs";

const TYPES = ["credit.reserved", "credit.locked", "credit.released", "credit.forfeited"];
const N = Number(process.env.BENCH_REPLICAS_EVENTS ?? 40_000);

if (process.argv[2] === "replica") {
  // A replica: counts what it handled, reports when told to stop.
  const consumer = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", databaseUrl: process.argv[3] });
  let handled = 0;
  for (const type of TYPES) consumer.subscribe(type, () => void (handled += 1));
  await consumer.start({ consumer: "bench" });
  process.send?.({ started: true });
  process.on("message", async () => {
    await consumer.close();
    process.send?.({ handled });
    process.exit(0);
  });
} else {
  const contracts = dirname(createRequire(import.meta.url).resolve("@sguild/contracts/package.json"));
  const fixture = (type) =>
    JSON.parse(readFileSync(join(contracts, "fixtures", `${type}-v${type === "credit.released" ? 2 : 1}`, "valid-minimal.json"), "utf8"))
      .payload;
  const payloads = Object.fromEntries(TYPES.map((t) => [t, fixture(t)]));
  console.log(
    `replicas benchmark (durable embedded PostgreSQL, 2 cores): ${fmt(N)} events over ${TYPES.length} types, each replica its own process`,
  );
  for (const replicas of [1, 2, 4]) {
    const db = await benchDatabase();
    const producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
    for (let i = 0; i < N; i += 1000)
      await producer.publishMany(
        Array.from({ length: 1000 }, (_, j) => ({
          event_type: TYPES[(i + j) % TYPES.length],
          payload: payloads[TYPES[(i + j) % TYPES.length]],
        })),
      );
    const started = performance.now();
    const children = Array.from({ length: replicas }, () =>
      fork(new URL(import.meta.url).pathname, ["replica", db.url], { env: { ...process.env, DISPATCHER_LOG_LEVEL: "silent" } }),
    );
    const dedup = async () => Number((await db.pool.query("SELECT count(*) AS n FROM dispatcher_dedup")).rows[0].n);
    while ((await dedup()) < N) await new Promise((r) => setTimeout(r, 20));
    const seconds = (performance.now() - started) / 1000;
    const handled = await Promise.all(
      children.map(
        (c) =>
          new Promise((resolve) => {
            c.on("message", (m) => m.handled !== undefined && resolve(m.handled));
            c.send("stop");
          }),
      ),
    );
    const total = handled.reduce((a, b) => a + b, 0);
    console.log(
      `  ${replicas} replica${replicas > 1 ? "s" : " "}  ${fmt(N / seconds).padStart(7)} events/s  ` +
        `(handled per replica: ${handled.map((h) => fmt(h)).join(", ")}; ${total === N ? "each event once" : `TOTAL ${total} != ${N}`})`,
    );
    await producer.close();
    await db.close();
  }
}
