import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDispatcher, type Dispatcher } from "../src/index.js";
import { failOnLeakedLoops, lockedPayload, testDb, until, type TestDb } from "./helpers.js";

failOnLeakedLoops();
let db: TestDb;
let producer: Dispatcher;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  db = await testDb();
  await db.pool.query("CREATE TABLE applied_log (consumer text NOT NULL, event_id text NOT NULL); CREATE TABLE produced (event_id text PRIMARY KEY)");
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
});
beforeEach(async () => {
  await db.pool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter, applied_log, produced");
});
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await producer.close();
  await db.drop();
});

async function spawnChild(script: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [new URL(`./fixtures/${script}`, import.meta.url).pathname, db.url, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("started") && resolve());
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code} before starting`)));
  });
  return child;
}

async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGKILL");
  await once(child, "exit");
}

const ledger = async () =>
  (await db.pool.query("SELECT count(*)::int AS total, count(DISTINCT event_id)::int AS distinct_events FROM applied_log")).rows[0] as {
    total: number;
    distinct_events: number;
  };

describe("crashes", () => {
  it("kill -9 of a consumer in the middle of a batch, then restart: nothing lost, nothing applied twice", async () => {
    const published = await producer.publishMany(Array.from({ length: 300 }, () => ({ event_type: "credit.locked" as const, payload: lockedPayload() })));
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
  });

  it("chaos: producers and consumers killed and restarted at random ends with zero lost, zero applied twice, zero stuck", async () => {
    const durationMs = Number(process.env["CHAOS_MS"] ?? 60_000);
    const producers = await Promise.all([0, 1, 2].map(() => spawnChild("producer-child.mjs", [])));
    const consumers = await Promise.all([0, 1].map(() => spawnChild("consumer-child.mjs", ["coaching", "1"])));
    const started = Date.now();
    let kills = 0;
    while (Date.now() - started < durationMs) {
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 1500));
      const pickProducer = Math.random() < 0.5;
      const pool = pickProducer ? producers : consumers;
      const index = Math.floor(Math.random() * pool.length);
      await kill9(pool[index]!);
      kills += 1;
      pool[index] = await spawnChild(pickProducer ? "producer-child.mjs" : "consumer-child.mjs", pickProducer ? [] : ["coaching", "1"]);
    }
    await Promise.all(producers.map(kill9));
    await Promise.all(consumers.map(kill9));
    const produced = (await db.pool.query("SELECT count(*)::int AS n FROM produced")).rows[0].n as number;
    const finalConsumer = await spawnChild("consumer-child.mjs", ["coaching", "0"]);
    await until(async () => (await ledger()).distinct_events >= produced, 120_000, "the final consumer to drain");
    await new Promise((r) => setTimeout(r, 500));
    await kill9(finalConsumer);
    const lost = (await db.pool.query("SELECT count(*)::int AS n FROM produced p WHERE NOT EXISTS (SELECT 1 FROM applied_log a WHERE a.event_id = p.event_id)")).rows[0].n;
    const twice = (await db.pool.query("SELECT count(*)::int AS n FROM (SELECT event_id FROM applied_log GROUP BY event_id HAVING count(*) > 1) d")).rows[0].n;
    const unrecorded = (await db.pool.query("SELECT count(*)::int AS n FROM dispatcher_event e WHERE NOT EXISTS (SELECT 1 FROM produced p WHERE p.event_id = e.event_id)")).rows[0].n;
    const stuck = (await db.pool.query("SELECT count(*)::int AS n FROM dispatcher_event e JOIN dispatcher_cursor c ON c.event_type = e.event_type WHERE c.consumer = 'coaching' AND (e.position IS NULL OR e.position > c.last_position)")).rows[0].n;
    const deadLetters = (await db.pool.query("SELECT count(*)::int AS n FROM dispatcher_dead_letter")).rows[0].n;
    console.log(`chaos: ${Math.round(durationMs / 1000)} s, ${kills} kills, ${produced} events committed`);
    expect({ lost, twice, unrecorded, stuck, deadLetters }).toEqual({ lost: 0, twice: 0, unrecorded: 0, stuck: 0, deadLetters: 0 });
    expect(produced).toBeGreaterThan(500);
  });
});
