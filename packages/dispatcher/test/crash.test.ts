import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDispatcher, type Dispatcher } from "../src/index.js";
import { lockedPayload, publishBacklog, testDb, until, type TestDb } from "./helpers.js";

let db: TestDb;
let producer: Dispatcher;
const children = new Set<ChildProcess>();
/** Children that exited without our SIGKILL: a crash, which fails the test. */
const unexpectedExits: string[] = [];
const killedByUs = new WeakSet<ChildProcess>();
const CHAOS_MS = Number(process.env["CHAOS_MS"] ?? 60_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  db = await testDb();
  await db.pool
    .query(`CREATE TABLE applied_log (consumer text NOT NULL, event_id text NOT NULL); CREATE TABLE produced (event_id text PRIMARY KEY);
    CREATE TABLE chaos_fault (kind text NOT NULL); CREATE TABLE chaos_poison (event_id text PRIMARY KEY); CREATE TABLE chaos_lock (id int);
    CREATE TABLE chaos_deferred (id text PRIMARY KEY, reservation text REFERENCES credit_reservation (id) DEFERRABLE INITIALLY DEFERRED)`);
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
});
beforeEach(async () => {
  await db.pool.query(
    "TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter, " +
      "applied_log, produced, chaos_fault, chaos_poison",
  );
});
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await producer.close();
  await db.drop();
});

async function spawnChild(script: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [new URL(`./fixtures/${script}`, import.meta.url).pathname, db.url, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  // The last lines a child wrote to stderr travel with its unexpected exit, so a crash names its cause.
  let stderrTail = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    process.stderr.write(chunk);
    stderrTail = (stderrTail + chunk.toString()).slice(-2000);
  });
  child.once("exit", (code, signal) => {
    children.delete(child);
    if (!killedByUs.has(child))
      unexpectedExits.push(`${script} exited with ${signal ?? code}${stderrTail ? `: ${stderrTail.trim()}` : ""}`);
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("started") && resolve());
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code} before starting`)));
  });
  return child;
}

async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  killedByUs.add(child);
  child.kill("SIGKILL");
  await once(child, "exit");
}

/** Moves a cursor back to `position` (if it is past it) with its retry state cleared, as a rewind does. */
const rewind = (eventType: string, position: number) =>
  db.pool.query(
    `UPDATE dispatcher_cursor SET last_position = $2, failed_attempts = 0, first_failed_at = NULL, retry_at = NULL, last_error = NULL
     WHERE consumer = 'coaching' AND event_type = $1 AND last_position > $2`,
    [eventType, position],
  );

const ledger = async () =>
  (await db.pool.query("SELECT count(*)::int AS total, count(DISTINCT event_id)::int AS distinct_events FROM applied_log")).rows[0] as {
    total: number;
    distinct_events: number;
  };

describe("crashes", () => {
  it("kill -9 of a consumer in the middle of a batch, then restart: nothing lost, nothing applied twice", async () => {
    const published = await producer.publishMany(
      Array.from({ length: 300 }, () => ({ event_type: "credit.locked" as const, payload: lockedPayload() })),
    );
    const first = await spawnChild("consumer-child.mjs", ["coaching", "5"]);
    await until(async () => (await ledger()).total >= 60, 30_000, "the first consumer to be mid-way");
    await kill9(first);
    const atKill = await ledger();
    expect(atKill.total).toBeLessThan(300);
    expect(atKill.total % 20).toBe(0); // only whole batches committed
    const second = await spawnChild("consumer-child.mjs", ["coaching", "0"]);
    await until(async () => (await ledger()).distinct_events === 300, 30_000, "the restarted consumer to drain");
    await kill9(second);
    expect(await ledger()).toEqual({ total: 300, distinct_events: 300 });
    const applied = (await db.pool.query("SELECT event_id FROM applied_log ORDER BY event_id")).rows.map((r) => r.event_id);
    expect(applied).toEqual(published.map((e) => e.event_id).sort());
    expect(unexpectedExits).toEqual([]);
  });

  it("kill -9 while a backlog is numbered in the background, then restart: every event numbered once, applied once", async () => {
    const n = 30_000;
    await publishBacklog(db, producer, n);
    const unnumbered = async () =>
      Number((await db.pool.query("SELECT count(*) AS n FROM dispatcher_event WHERE position IS NULL")).rows[0].n);
    const first = await spawnChild("consumer-child.mjs", ["coaching", "0"]);
    // The first chunk is numbered in line; kill while the rest is still being numbered.
    await until(async () => (await unnumbered()) < n, 30_000, "the first chunk numbered");
    await kill9(first);
    const atKill = { unnumbered: await unnumbered(), applied: (await ledger()).total };
    expect(atKill.unnumbered).toBeGreaterThan(0);
    const second = await spawnChild("consumer-child.mjs", ["coaching", "0"]);
    await until(async () => (await ledger()).distinct_events === n, 60_000, "the restarted consumer to drain");
    await kill9(second);
    expect(await ledger()).toEqual({ total: n, distinct_events: n });
    const { rows } = await db.pool.query(
      "SELECT count(*)::int AS events, count(DISTINCT position)::int AS positions, count(*) FILTER (WHERE position IS NULL)::int AS unnumbered FROM dispatcher_event",
    );
    expect(rows[0]).toEqual({ events: n, positions: n, unnumbered: 0 });
    expect(unexpectedExits).toEqual([]);
  });

  it(
    "chaos: kills, handler timeouts, lock waits, dropped connections, commit failures and racing replays: " +
      "zero lost, zero applied twice, zero stuck",
    async () => {
      const producers = await Promise.all([0, 1, 2].map(() => spawnChild("producer-child.mjs", [])));
      const consumers = await Promise.all([0, 1].map(() => spawnChild("chaos-consumer-child.mjs", ["coaching"])));
      const operator = createDispatcher({ producer: "platform", tenantId: "tnt_sguild", pool: db.pool });
      const started = Date.now();
      const done = () => Date.now() - started >= CHAOS_MS;
      const counts = { kills: 0, terminated: 0, lockHolds: 0, poisoned: 0, replays: 0 };
      const killer = async () => {
        while (!done()) {
          await sleep(500 + Math.random() * 1500);
          const pickProducer = Math.random() < 0.5;
          const pool = pickProducer ? producers : consumers;
          const index = Math.floor(Math.random() * pool.length);
          await kill9(pool[index]!);
          counts.kills += 1;
          pool[index] = await spawnChild(
            pickProducer ? "producer-child.mjs" : "chaos-consumer-child.mjs",
            pickProducer ? [] : ["coaching"],
          );
        }
      };
      const terminator = async () => {
        while (!done()) {
          await sleep(700 + Math.random() * 1500);
          // A delivery connection cut mid-transaction (server side), or an idle one of the pool.
          counts.terminated += await db.count(`SELECT count(*) AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE application_name = 'chaos-consumer'
            ORDER BY (state = 'idle in transaction' OR state = 'active') DESC, random() LIMIT 1) t`);
        }
      };
      const locker = async () => {
        while (!done()) {
          await sleep(300 + Math.random() * 700);
          const client = await db.pool.connect();
          await client.query("BEGIN");
          await client.query("LOCK TABLE chaos_lock IN ACCESS EXCLUSIVE MODE");
          await sleep(200 + Math.random() * 500);
          await client.query("COMMIT");
          client.release();
          counts.lockHolds += 1;
        }
      };
      const replayer = async () => {
        while (!done()) {
          await sleep(1500 + Math.random() * 1500);
          // Poison a few events not applied yet: the consumer dead-letters them when it gets there.
          counts.poisoned += await db.count(`WITH p AS (INSERT INTO chaos_poison (event_id) SELECT event_id FROM produced p
            WHERE NOT EXISTS (SELECT 1 FROM applied_log a WHERE a.event_id = p.event_id) ORDER BY random() LIMIT 2
            ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) AS n FROM p`);
          // Clear the older letters' poison, rewind their cursor to before them and request a replay:
          // the rewound delivery and the replay race for the same event.
          const letters = (
            await db.pool.query(`SELECT id, event_id, event_type, event_position FROM dispatcher_dead_letter
            WHERE resolved_at IS NULL AND replay_requested_at IS NULL AND created_at < now() - interval '500 milliseconds'`)
          ).rows;
          for (const letter of letters) {
            await db.pool.query("DELETE FROM chaos_poison WHERE event_id = $1", [letter.event_id]);
            await rewind(letter.event_type, Number(letter.event_position) - 1);
            await operator.deadLetters.requestReplay(letter.id, { requestedBy: "per_chaos" });
            counts.replays += 1;
          }
        }
      };
      await Promise.all([killer(), terminator(), locker(), replayer()]);
      await Promise.all(producers.map(kill9));
      await Promise.all(consumers.map(kill9));
      const produced = (await db.pool.query("SELECT count(*)::int AS n FROM produced")).rows[0].n as number;
      const appliedDuringChaos = (await ledger()).distinct_events;
      // The end of the faults: every letter's poison cleared and its replay requested; one clean consumer drains.
      await db.pool.query("DELETE FROM chaos_poison");
      await db.pool.query(
        "UPDATE dispatcher_dead_letter SET replay_requested_at = now(), replay_requested_by = 'per_chaos' WHERE resolved_at IS NULL",
      );
      const finalConsumer = await spawnChild("chaos-consumer-child.mjs", ["coaching", "clean"]);
      await until(
        async () =>
          (await ledger()).distinct_events >= produced &&
          (await db.count("SELECT count(*) AS n FROM dispatcher_dead_letter WHERE resolved_at IS NULL")) === 0,
        120_000,
        "the final consumer to drain and replay every letter",
      ).catch(async (error) => {
        const state = async (sql: string) => (await db.pool.query(sql)).rows;
        console.log("ledger", await ledger(), "produced", produced);
        console.log(
          "not applied",
          await state(
            "SELECT p.event_id, e.event_type, e.id, e.position, e.sequenced_at, e.created_at, " +
              "(SELECT count(*) FROM dispatcher_dedup d WHERE d.event_id = p.event_id) AS dedup_rows, " +
              "(SELECT count(*) FROM dispatcher_dead_letter l WHERE l.event_id = p.event_id) AS letters " +
              "FROM produced p LEFT JOIN dispatcher_event e ON e.event_id = p.event_id " +
              "WHERE NOT EXISTS (SELECT 1 FROM applied_log a WHERE a.event_id = p.event_id) LIMIT 20",
          ),
        );
        console.log("cursors", await state("SELECT * FROM dispatcher_cursor"));
        console.log(
          "active letters",
          await state(
            "SELECT id, event_id, event_position, attempts, error_message, replay_requested_at " +
              "FROM dispatcher_dead_letter WHERE resolved_at IS NULL",
          ),
        );
        console.log(
          "activity",
          await state(
            "SELECT pid, application_name, state, wait_event_type, left(query, 80) AS q " +
              "FROM pg_stat_activity WHERE datname = current_database()",
          ),
        );
        throw error;
      });
      await sleep(500);
      await kill9(finalConsumer);
      await operator.close();
      const one = async (sql: string) => (await db.pool.query(sql)).rows[0].n as number;
      const lost = await one(
        "SELECT count(*)::int AS n FROM produced p WHERE NOT EXISTS (SELECT 1 FROM applied_log a WHERE a.event_id = p.event_id)",
      );
      const twice = await one("SELECT count(*)::int AS n FROM (SELECT event_id FROM applied_log GROUP BY event_id HAVING count(*) > 1) d");
      const unrecorded = await one(
        "SELECT count(*)::int AS n FROM dispatcher_event e WHERE NOT EXISTS (SELECT 1 FROM produced p WHERE p.event_id = e.event_id)",
      );
      const stuck = await one(`SELECT count(*)::int AS n FROM dispatcher_event e JOIN dispatcher_cursor c ON c.event_type = e.event_type
        WHERE c.consumer = 'coaching' AND (e.position IS NULL OR e.position > c.last_position)`);
      const activeLetters = await one("SELECT count(*)::int AS n FROM dispatcher_dead_letter WHERE resolved_at IS NULL");
      const faults = Object.fromEntries(
        (await db.pool.query("SELECT kind, count(*)::int AS n FROM chaos_fault GROUP BY kind")).rows.map((r) => [r.kind, r.n]),
      );
      const resolvedLetters = (await db.pool.query("SELECT resolution_note, count(*)::int AS n FROM dispatcher_dead_letter GROUP BY 1"))
        .rows;
      console.log(
        `chaos: ${Math.round(CHAOS_MS / 1000)} s, ${produced} events committed, ${appliedDuringChaos} applied before the final drain`,
        counts,
        faults,
        resolvedLetters,
      );
      expect(unexpectedExits).toEqual([]);
      expect({ lost, twice, unrecorded, stuck, activeLetters }).toEqual({ lost: 0, twice: 0, unrecorded: 0, stuck: 0, activeLetters: 0 });
      expect(produced).toBeGreaterThan(500);
      expect(appliedDuringChaos).toBeGreaterThan(produced / 10);
      for (const kind of ["timeout-js", "late-write-refused", "timeout-db", "lock", "commit", "swallow"])
        expect(faults[kind] ?? 0, kind).toBeGreaterThan(0);
      expect(Object.keys(faults).filter((kind) => kind.startsWith("late-write-") && kind !== "late-write-refused")).toEqual([]);
      for (const [name, n] of Object.entries(counts)) expect(n, name).toBeGreaterThan(0);
    },
    CHAOS_MS + 240_000,
  );
});
