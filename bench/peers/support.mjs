// Shared by every system of `pnpm bench peers`: the settings, the durable embedded PostgreSQL,
// the message every system carries, and the three measurements (produce, drain, latency).
import pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { createTestDatabase, startEmbeddedPostgres } from "@sguild/prisma-fragment/testing";

const num = (name, fallback) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number (got ${process.env[name]})`);
  return value;
};

export const settings = {
  /** Events produced (one transaction each) and then drained. */
  n: num("BENCH_N", 10_000),
  /** Events produced and consumed before measuring (plans cached, code paths compiled). */
  warmup: num("BENCH_WARMUP", 500),
  /** Steady publish rate of the latency run, events/s. */
  rate: num("BENCH_RATE", 200),
  /** Length of the latency run, s. */
  latencySeconds: num("BENCH_LATENCY_SECONDS", 10),
  /** A drain that has not finished after this many seconds is reported as the rate it reached. */
  drainMaxSeconds: num("BENCH_DRAIN_MAX_SECONDS", 60),
  /** After the latency run's last commit, how long to wait for its last events. */
  settleSeconds: num("BENCH_SETTLE_SECONDS", 10),
};

export const TENANT = "tnt_sguild";
const id = (prefix) => `${prefix}_${uuidv7()}`;

/** What the dispatcher publishes: a credit.locked event (its payload is validated against the contract). */
export function emit() {
  const personId = id("per");
  return {
    event_type: "credit.locked",
    payload: {
      credit_reservation_id: id("crr"),
      lesson_id: id("les"),
      person_id: personId,
      locked_credits: 6,
      locked_at: new Date().toISOString(),
    },
    subject: personId,
    actor: "system:revenue",
  };
}

/**
 * What every other system carries as its job / row payload: the same event with the envelope the
 * dispatcher stores around it (ids, type, tenant, producer, time), so each system moves the same
 * bytes. event_id identifies the event in the latency run.
 */
export function message() {
  const event = emit();
  return {
    event_id: id("evt"),
    event_type: event.event_type,
    schema_version: 1,
    tenant_id: TENANT,
    producer: "revenue",
    occurred_at: new Date().toISOString(),
    subject: event.subject,
    actor: event.actor,
    payload: event.payload,
  };
}

/** A fresh embedded PostgreSQL 18 (fsync and synchronous_commit at their defaults: on) and one database on it. */
export async function freshPostgres({ dispatcherTables }) {
  const server = await startEmbeddedPostgres({ postgresFlags: ["-c", "max_connections=300"] });
  try {
    const db = await createTestDatabase({ adminUrl: server.url, migrate: dispatcherTables });
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const { rows } = await admin.query(
      "SELECT current_setting('server_version') AS version, current_setting('fsync') AS fsync, " +
        "current_setting('synchronous_commit') AS sync",
    );
    await admin.end();
    return {
      url: db.url,
      info: { version: rows[0].version, fsync: rows[0].fsync, synchronousCommit: rows[0].sync },
      async stop() {
        await db.drop().catch(() => undefined);
        await server.stop();
      },
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** n producer transactions one after another; resolves events/s. */
export async function measureProduce(system, n) {
  const started = performance.now();
  for (let i = 0; i < n; i += 1) await system.produce(message());
  return (n / (performance.now() - started)) * 1000;
}

/**
 * Starts the consumer on a backlog of `n` and waits for the n-th handler entry. The clock runs
 * from just before the consumer is started to the last handler entry.
 */
export async function measureDrain(system, n, { maxSeconds = settings.drainMaxSeconds, start = system.startConsumer } = {}) {
  let seen = 0;
  let last = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  const started = performance.now();
  const stop = await start(() => {
    seen += 1;
    last = performance.now();
    if (seen === n) done();
  });
  await Promise.race([finished, sleep(maxSeconds * 1000)]);
  const count = seen;
  const ms = (count === n ? last : performance.now()) - started;
  await stop();
  return { rate: (count / ms) * 1000, drained: count, of: n, complete: count >= n, ms };
}

/** Produces `n` and consumes them, unmeasured. */
export async function warmUp(system, n, start = system.startConsumer) {
  for (let i = 0; i < n; i += 1) await system.produce(message());
  const result = await measureDrain(system, n, { start, maxSeconds: 120 });
  if (!result.complete) throw new Error(`warm-up: only ${result.drained} of ${n} events consumed in 120 s`);
}

/**
 * A steady `rate` of single-event transactions for `seconds`, with the consumer running; latency of
 * each event = its handler entry - the moment its producer's COMMIT returned.
 */
export async function measureLatency(
  system,
  { rate = settings.rate, seconds = settings.latencySeconds, start = system.startConsumer } = {},
) {
  const committedAt = new Map();
  const enteredAt = new Map();
  const stop = await start((eventId) => {
    if (!enteredAt.has(eventId)) enteredAt.set(eventId, performance.now());
  });
  await sleep(300);
  const total = Math.round(rate * seconds);
  const began = performance.now();
  for (let i = 0; i < total; i += 1) {
    const due = began + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const eventId = await system.produce(message());
    committedAt.set(eventId, performance.now());
  }
  const deadline = performance.now() + settings.settleSeconds * 1000;
  while (performance.now() < deadline && [...committedAt.keys()].some((k) => !enteredAt.has(k))) await sleep(20);
  await stop();
  const latencies = [];
  for (const [eventId, t] of committedAt) {
    const entered = enteredAt.get(eventId);
    if (entered !== undefined) latencies.push(entered - t);
  }
  latencies.sort((a, b) => a - b);
  if (latencies.length === 0) return { p50: NaN, p95: NaN, p99: NaN, handled: 0, of: total };
  return {
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    handled: latencies.length,
    of: total,
  };
}

/** Progress lines go to stderr; the result is the last line of stdout. */
export const progress = (line) => process.stderr.write(`  ${line}\n`);
