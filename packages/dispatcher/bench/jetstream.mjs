// pnpm bench jetstream: events/s and latency from Revenue's commit to Coaching's handler through NATS
// JetStream (a three-node nats-server cluster on loopback, stream replicas 3: the relay publishing,
// the inbox storing into Coaching's dispatcher_event), next to the database relay and the HTTP relay
// (signed CloudEvents into the inbox) in the same run, on the same PostgreSQL.
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, connect as tcpConnect } from "node:net";
import { createServer as createHttpServer } from "node:http";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { startTestPostgres, createTestDatabase } from "@sguild/prisma-fragment/testing";
import { createDispatcher, createFanoutRelay, createInbox, toNodeHandler } from "../dist/index.js";
import { ensureStream, toJetStreamMessage } from "../dist/jetstream/index.js";
import { rawCeiling } from "./jetstream-processes/raw-ceiling.mjs";
import { fmt, percentile, reservedEmit as emit } from "./support.mjs";

const TOTAL = Number(process.env.BENCH_JETSTREAM_EVENTS ?? 20_000);
const RATE = 50;
const BATCH = 500;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** CPU seconds a process has used (Linux /proc; 0 elsewhere). */
const cpuSeconds = (pid) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
};

const natsServer = () => {
  for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/sbin"]) {
    if (dir && spawnSync(join(dir, "nats-server"), ["--version"], { stdio: "ignore" }).status === 0) return join(dir, "nats-server");
  }
  console.error("install nats-server (Debian: apt-get install nats-server)");
  process.exit(2);
};
const freePort = async () => {
  const s = createServer().listen(0, "127.0.0.1");
  await once(s, "listening");
  const { port } = s.address();
  s.close();
  await once(s, "close");
  return port;
};
const listening = (port) =>
  new Promise((resolve) => {
    const socket = tcpConnect({ port, host: "127.0.0.1" });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });

/** Three nats-server processes with JetStream, clustered on loopback. */
async function startCluster() {
  const binary = natsServer();
  const dir = mkdtempSync(join(tmpdir(), "sguild-bench-nats-"));
  const ports = [await freePort(), await freePort(), await freePort()];
  const routes = [await freePort(), await freePort(), await freePort()];
  const nodes = ports.map((port, i) =>
    spawn(
      binary,
      ["-js", "-sd", join(dir, `n${i}`), "-p", String(port), "-a", "127.0.0.1", "--server_name", `n${i}`, "--cluster_name", "bench"].concat(
        [
          "--cluster",
          `nats://127.0.0.1:${routes[i]}`,
          "--routes",
          routes
            .filter((_, j) => j !== i)
            .map((p) => `nats://127.0.0.1:${p}`)
            .join(","),
        ],
      ),
      { stdio: "ignore" },
    ),
  );
  for (const port of ports) while (!(await listening(port))) await sleep(50);
  return {
    servers: ports.map((p) => `nats://127.0.0.1:${p}`),
    cpu: () => nodes.reduce((sum, n) => sum + cpuSeconds(n.pid), 0),
    async stop() {
      for (const node of nodes) node.kill("SIGTERM");
      await Promise.all(nodes.map((n) => (n.exitCode === null ? once(n, "exit") : undefined)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const KEY = { id: "bench", secret: "bench-secret" };

/** A relay or inbox child process, started with its settings; resolves once it runs. */
async function child(script, settings) {
  // BENCH_CPU_PROF=<dir>: each child writes a V8 CPU profile there (open it in Chrome's DevTools).
  const profile = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const proc = spawn(
    process.execPath,
    [...profile, new URL(`./jetstream-processes/${script}`, import.meta.url).pathname, JSON.stringify(settings)],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  proc.stdout.on("data", (chunk) => (out += chunk));
  while (!out.includes("started")) {
    if (proc.exitCode !== null) throw new Error(`${script} exited with ${proc.exitCode}`);
    await sleep(20);
  }
  return {
    cpu: () => cpuSeconds(proc.pid),
    async close() {
      proc.kill("SIGTERM");
      if (proc.exitCode === null) await once(proc, "exit");
    },
  };
}

/** The transport under test: started once the backlog is committed, closed at the end. */
async function transport(kind, source, target, targetPool, nats, run) {
  if (kind === "jetstream") {
    const jetstream = { servers: nats.servers, stream: { name: `BENCH_${run}`, replicas: 3 }, subjectPrefix: `bench${run}` };
    for (
      let i = 0;
      !(await ensureStream(jetstream).then(
        () => true,
        () => false,
      ));
      i += 1
    ) {
      if (i > 60) throw new Error("the cluster did not take a replicated stream");
      await sleep(500);
    }
    // Relay and inbox each in its own process, as two domains run them.
    const inbox = await child("inbox.mjs", { databaseUrl: target.url, jetstream, batchSize: BATCH });
    let relay;
    return {
      start: async () => void (relay = await child("relay.mjs", { databaseUrl: source.url, jetstream, batchSize: BATCH })),
      cpu: () => ({ nats: nats.cpu(), relay: relay?.cpu() ?? 0, inbox: inbox.cpu() }),
      close: () => Promise.all([relay?.close(), inbox.close()]),
    };
  }
  let http;
  let destination = { kind: "database", databaseUrl: target.url };
  if (kind === "http") {
    const inbox = createInbox({ domain: "coaching", pool: targetPool, keys: { [KEY.id]: KEY.secret }, tenants: ["tnt_sguild"] });
    http = createHttpServer(toNodeHandler(inbox));
    await new Promise((r) => http.listen(0, "127.0.0.1", r));
    destination = { kind: "http", url: `http://127.0.0.1:${http.address().port}/inbox`, key: KEY };
  }
  const relay = createFanoutRelay({
    source: { producer: "revenue", tenantId: "tnt_sguild", databaseUrl: source.url },
    destinations: { coaching: destination },
    consumerOptions: { batchSize: BATCH },
  });
  return {
    start: () => relay.start(),
    close: async () => {
      await relay.close();
      if (http) await new Promise((r) => http.close(r));
    },
  };
}

async function measure(kind, server, nats, run) {
  const [source, target] = await Promise.all([
    createTestDatabase({ adminUrl: server.adminUrl }),
    createTestDatabase({ adminUrl: server.adminUrl }),
  ]);
  const sourcePool = new pg.Pool({ connectionString: source.url });
  const targetPool = new pg.Pool({ connectionString: target.url });
  const relay = await transport(kind, source, target, targetPool, nats, run);
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
  await coaching.start({ consumer: "coaching", batchSize: BATCH });
  const revenue = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: sourcePool });
  // Throughput: a backlog of TOTAL events committed before the relay starts, then relayed, stored and handled.
  for (let i = 0; i < TOTAL; i += 500) {
    const envelopes = await revenue.publishMany(Array.from({ length: Math.min(500, TOTAL - i) }, emit));
    for (const e of envelopes) committedAt.set(e.event_id, 0);
  }
  const started = performance.now();
  const cpuBefore = { self: process.cpuUsage(), others: relay.cpu?.() };
  await relay.start();
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const own = process.cpuUsage(cpuBefore.self);
  const others = relay.cpu?.();
  const cpu = others && {
    nats: others.nats - cpuBefore.others.nats,
    relay: others.relay,
    inbox: others.inbox - cpuBefore.others.inbox,
    coaching: (own.user + own.system) / 1e6,
  };
  // Latency: a steady RATE events/s, one per transaction, from COMMIT to the Coaching handler's entry.
  latencies.length = 0;
  const steady = RATE * 5;
  const client = await sourcePool.connect();
  const t0 = performance.now();
  for (let i = 0; i < steady; i += 1) {
    const wait = t0 + (i * 1000) / RATE - performance.now();
    if (wait > 0) await sleep(wait);
    await client.query("BEGIN");
    const e = await revenue.publish(emit(), { tx: client });
    await client.query("COMMIT");
    committedAt.set(e.event_id, performance.now());
  }
  client.release();
  const deadline = performance.now() + 15_000;
  while (latencies.length < steady && performance.now() < deadline) await sleep(20);
  await Promise.all([relay.close(), coaching.close(), revenue.close()]);
  await Promise.all([sourcePool.end(), targetPool.end()]);
  await Promise.all([source.drop(), target.drop()]);
  const sorted = latencies.sort((a, b) => a - b);
  return {
    rate: TOTAL / seconds,
    seconds,
    cpu,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    seen: sorted.length,
  };
}

const server = await startTestPostgres({ fast: false });
const nats = await startCluster();
console.log(
  `jetstream benchmark (${server.source} PostgreSQL, fsync on; a three-node nats-server cluster on loopback, stream replicas 3; ` +
    `relay and inbox batches of ${BATCH}). Throughput: a backlog of ${TOTAL} credit.reserved events committed in Revenue, then ` +
    `relayed, stored in Coaching and handled there. Latency: ${RATE} events/s for 5 s, one per transaction, ` +
    `producer COMMIT -> Coaching handler entry.`,
);
const labels = { jetstream: "JetStream (3 nodes, R3)", database: "database -> database   ", http: "HTTP on loopback       " };
let run = 0;
for (const kind of ["jetstream", "database", "http"]) {
  run += 1;
  const r = await measure(kind, server, nats, run);
  console.log(
    `  ${labels[kind]}  ${fmt(r.rate).padStart(7)} events/s   ` +
      `latency p50 ${fmt(r.p50, 1)} ms  p95 ${fmt(r.p95, 1)} ms  p99 ${fmt(r.p99, 1)} ms` +
      (r.seen < RATE * 5 ? `  (${r.seen} of ${RATE * 5} seen)` : ""),
  );
  if (r.cpu) {
    const { nats: n, relay: rl, inbox: ib, coaching: co } = r.cpu;
    console.log(
      `    CPU during the backlog's ${fmt(r.seconds, 1)} s: nats-servers ${fmt(n, 1)} s, relay ${fmt(rl, 1)} s, inbox ${fmt(ib, 1)} s, ` +
        `Coaching's consumer ${fmt(co, 1)} s (of ${os.cpus().length} cores; PostgreSQL not counted)`,
    );
  }
}
// The ceiling: the same cluster and message with no PostgreSQL, relay or inbox (publisher and reader in this one process).
const sample = toJetStreamMessage(
  {
    envelope: {
      event_id: "evt_sample",
      schema_version: 1,
      tenant_id: "tnt_sguild",
      producer: "revenue",
      occurred_at: new Date().toISOString(),
      ...emit(),
    },
  },
  "raw",
).body;
for (const [collector, label] of [
  [false, "nats.js js.publish, no PostgreSQL"],
  [true, "acks on one subscription, no PG "],
]) {
  run += 1;
  const r = await rawCeiling({ servers: nats.servers, serversCpu: nats.cpu, total: TOTAL, body: sample, run, collector });
  console.log(
    `  ${label}  ${fmt(r.rate).padStart(7)} messages/s  CPU per message: nats-servers ${fmt(r.serversUs)} µs, ` +
      `publisher and reader ${fmt(r.clientUs)} µs (${Buffer.byteLength(sample)}-byte body)`,
  );
}
await nats.stop();
await server.stop();
process.exit(0);
