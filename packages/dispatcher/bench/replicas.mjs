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
  const events = (from) =>
    Array.from({ length: 1000 }, (_, j) => ({
      event_type: TYPES[(from + j) % TYPES.length],
      payload: payloads[TYPES[(from + j) % TYPES.length]],
    }));
  const fork1 = (url) =>
    fork(new URL(import.meta.url).pathname, ["replica", url], { env: { ...process.env, DISPATCHER_LOG_LEVEL: "silent" } });
  const started = (child) => new Promise((resolve) => child.on("message", (m) => m.started && resolve()));
  const stop = (children) =>
    Promise.all(
      children.map(
        (c) =>
          new Promise((resolve) => {
            c.on("message", (m) => m.handled !== undefined && resolve(m.handled));
            c.send("stop");
          }),
      ),
    );
  const report = (label, replicas, seconds, handled) => {
    const total = handled.reduce((a, b) => a + b, 0);
    console.log(
      `  ${replicas} replica${replicas > 1 ? "s" : " "}  ${label}  ${fmt(N / seconds).padStart(7)} events/s  ` +
        `(handled per replica: ${handled.map((h) => fmt(h)).join(", ")}; ${total === N ? "each event once" : `TOTAL ${total} != ${N}`})`,
    );
    return N / seconds;
  };
  const rates = { standing: [], running: [] };
  for (const replicas of [1, 2, 4]) {
    // Standing start: the backlog is committed first, then the replica processes are forked, load
    // the package and start; the clock includes all of that (one Node start-up per replica).
    let db = await benchDatabase();
    let producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
    for (let i = 0; i < N; i += 1000) await producer.publishMany(events(i));
    const dedup = async () => Number((await db.pool.query("SELECT count(*) AS n FROM dispatcher_dedup")).rows[0].n);
    let clock = performance.now();
    let children = Array.from({ length: replicas }, () => fork1(db.url));
    while ((await dedup()) < N) await new Promise((r) => setTimeout(r, 20));
    let seconds = (performance.now() - clock) / 1000;
    rates.standing.push(report("standing start ", replicas, seconds, await stop(children)));
    await producer.close();
    await db.close();

    // Replicas already running: started and idle, then the whole backlog commits in one
    // transaction; the clock runs from that COMMIT (numbering included) to the last event handled.
    db = await benchDatabase();
    producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
    children = Array.from({ length: replicas }, () => fork1(db.url));
    await Promise.all(children.map(started));
    const client = await db.pool.connect();
    await client.query("BEGIN");
    for (let i = 0; i < N; i += 1000) await producer.publishMany(events(i), { tx: client });
    clock = performance.now();
    await client.query("COMMIT");
    client.release();
    while ((await dedup()) < N) await new Promise((r) => setTimeout(r, 20));
    seconds = (performance.now() - clock) / 1000;
    rates.running.push(report("already running", replicas, seconds, await stop(children)));
    await producer.close();
    await db.close();
  }
  for (const [kind, list] of Object.entries(rates)) {
    const falls = list.some((rate, i) => i > 0 && rate < list[i - 1]);
    console.log(
      `  ${kind === "standing" ? "standing start " : "already running"}: ${list.map((r) => fmt(r)).join(" -> ")} events/s (target: never falls: ${falls ? "NOT met" : "met"})`,
    );
  }
}
