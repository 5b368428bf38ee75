import os from "node:os";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDispatcher, type Dispatcher } from "../src/index.js";
import { runOnce } from "../src/testing/index.js";
import { DISPATCHER_VERSION } from "../src/version.js";
import { asJson, consoleClient } from "./console-helpers.js";
import { id, lockedPayload, testDb, until, type TestDb, reservedPayload } from "./helpers.js";

// The consumers' side of the console: the overview's numbers, pause and resume on a running
// consumer, the replicas' heartbeats, rewind and drop.

let db: TestDb;
let producer: Dispatcher;
const running: Dispatcher[] = [];
let seen: string[];
let failing: Set<string>;

beforeAll(async () => {
  db = await testDb();
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
});
beforeEach(async () => {
  await db.pool.query(
    "TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter, dispatcher_consumer_instance, applied",
  );
  seen = [];
  failing = new Set();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.close()));
});
afterAll(async () => {
  await producer.close();
  await db.drop();
});

const locked = () => ({ event_type: "credit.locked" as const, payload: lockedPayload() });
const reserved = () => ({
  event_type: "credit.reserved" as const,
  payload: reservedPayload(),
});

/** The coaching domain's dispatcher: both types, each event recorded in `seen`; those in `failing` throw. */
function coaching(): Dispatcher {
  const d = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
  running.push(d);
  const handler = async (event: { event_id: string }) => {
    if (failing.has(event.event_id)) throw new RangeError(`no slot for ${event.event_id}`);
    seen.push(event.event_id);
  };
  d.subscribe("credit.locked", handler);
  d.subscribe("credit.reserved", handler);
  return d;
}

const row = async (sql: string, values: unknown[] = []) => (await db.pool.query(sql, values)).rows[0];
const cursor = (consumer: string, eventType: string) =>
  row(
    "SELECT last_position::int AS position, last_delivered_at, paused_at, paused_by " +
      "FROM dispatcher_cursor WHERE consumer = $1 AND event_type = $2",
    [consumer, eventType],
  );
const positions = async (ids: string[]) =>
  (await db.pool.query("SELECT event_id, position::int AS position FROM dispatcher_event WHERE event_id = ANY($1)", [ids])).rows;

/** The 60 minutes ending with `last`, each with the rows of `sql` (minute, n) counted in it. */
async function perMinute(last: string, sql: string, values: unknown[], key: string) {
  const counts = new Map((await db.pool.query(sql, values)).rows.map((r) => [new Date(r.minute).toISOString(), Number(r.n)]));
  return Array.from({ length: 60 }, (_, i) => {
    const minute = new Date(new Date(last).getTime() - (59 - i) * 60_000).toISOString();
    return { minute, [key]: counts.get(minute) ?? 0 };
  });
}
const deliveredPerMinute = (last: string, consumer: string) =>
  perMinute(
    last,
    "SELECT date_trunc('minute', delivered_at) AS minute, count(*) AS n FROM dispatcher_dedup WHERE consumer = $1 GROUP BY 1",
    [consumer],
    "delivered",
  );
const publishedPerMinute = (last: string, eventType: string) =>
  perMinute(
    last,
    "SELECT date_trunc('minute', created_at) AS minute, count(*) AS n FROM dispatcher_event WHERE event_type = $1 GROUP BY 1",
    [eventType],
    "published",
  );

describe("overview", () => {
  it("the numbers of a seeded database, exactly", async () => {
    const d = coaching();
    const events = await producer.publishMany([locked(), locked(), locked(), reserved(), reserved()]);
    failing.add(events[3]!.event_id);
    await runOnce(d, { consumer: "coaching", retryDelaysMs: [] });
    await runOnce(d, { consumer: "audit", retryDelaysMs: [] });
    const late = await producer.publish(locked());
    const client = consoleClient(d);
    expect((await client.post("consumers/coaching/pause", { by: "per_ops", eventType: "credit.reserved" })).body).toEqual({
      consumer: "coaching",
      paused: ["credit.reserved"],
    });
    expect((await client.post("consumers/audit/pause", { by: "per_lead" })).body).toEqual({
      consumer: "audit",
      paused: ["credit.locked", "credit.reserved"],
    });
    // Paused already: left as it was, not listed.
    expect((await client.post("consumers/audit/pause", { by: "per_other", eventType: "credit.locked" })).body).toEqual({
      consumer: "audit",
      paused: [],
    });

    const { status, body } = await client.get("overview");
    expect(status).toBe(200);
    const p = await positions(events.map((e) => e.event_id));
    const positionOf = (eventId: string) => p.find((r) => r.event_id === eventId)!.position;
    const lastMinute = new Date(Math.floor(new Date(body.generatedAt).getTime() / 60_000) * 60_000).toISOString();
    const expected = async (consumer: string, paused: boolean) => {
      const l = await cursor(consumer, "credit.locked");
      const r = await cursor(consumer, "credit.reserved");
      const type = (eventType: string, c: any, extra: object) => ({
        eventType,
        failedAttempts: 0,
        retryAt: null,
        lastError: null,
        lastDeliveredAt: c.last_delivered_at.toISOString(),
        pausedAt: c.paused_at?.toISOString() ?? null,
        pausedBy: c.paused_at ? c.paused_by : null,
        paused: c.paused_at !== null,
        ...extra,
      });
      return {
        consumer,
        types: [
          type("credit.locked", l, {
            position: positionOf(events[2]!.event_id),
            lagEvents: 1,
            lagSeconds: expect.any(Number),
            activeDeadLetters: 0,
          }),
          type("credit.reserved", r, { position: positionOf(events[4]!.event_id), lagEvents: 0, lagSeconds: 0, activeDeadLetters: 1 }),
        ],
        paused,
        instances: [],
        throughput: await deliveredPerMinute(lastMinute, consumer),
        activeDeadLetters: 1,
      };
    };
    expect(body).toEqual({
      consumers: [await expected("audit", true), await expected("coaching", false)],
      published: [
        { eventType: "credit.locked", lastHour: 4, perMinute: await publishedPerMinute(lastMinute, "credit.locked") },
        { eventType: "credit.reserved", lastHour: 2, perMinute: await publishedPerMinute(lastMinute, "credit.reserved") },
      ],
      generatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(body.consumers.map((c: any) => [c.consumer, c.types.map((t: any) => [t.eventType, t.paused, t.pausedBy])])).toEqual([
      [
        "audit",
        [
          ["credit.locked", true, "per_lead"],
          ["credit.reserved", true, "per_lead"],
        ],
      ],
      [
        "coaching",
        [
          ["credit.locked", false, null],
          ["credit.reserved", true, "per_ops"],
        ],
      ],
    ]);
    for (const c of body.consumers) {
      expect(c.throughput.reduce((n: number, m: any) => n + m.delivered, 0)).toBe(4);
      const lag = c.types[0].lagSeconds;
      const age = Number(
        (await row("SELECT extract(epoch FROM now() - created_at) AS s FROM dispatcher_event WHERE event_id = $1", [late.event_id])).s,
      );
      expect(lag > 0 && lag <= age).toBe(true);
    }
    expect(body.consumers[0].throughput.at(-1).minute).toBe(lastMinute);

    // One consumer: the same summary.
    const one = await client.get("consumers/coaching");
    expect({ ...one.body, types: one.body.types.map((t: any) => ({ ...t, lagSeconds: 0 })) }).toEqual({
      ...body.consumers[1],
      types: body.consumers[1].types.map((t: any) => ({ ...t, lagSeconds: 0 })),
      throughput: await deliveredPerMinute(one.body.throughput.at(-1).minute, "coaching"),
    });
  });

  it("an empty database", async () => {
    const { body } = await consoleClient(coaching()).get("overview");
    expect([body.consumers, body.published]).toEqual([[], []]);
  });
});

describe("pause and resume a running consumer", () => {
  it("paused, it delivers nothing however often it polls; resumed, exactly the events published meanwhile arrive", async () => {
    const d = coaching();
    await d.start({ consumer: "coaching", pollIntervalMs: 50 });
    const client = consoleClient(d);
    expect((await client.post("consumers/coaching/pause", { by: "per_ops" })).body).toEqual({
      consumer: "coaching",
      paused: ["credit.locked", "credit.reserved"],
    });
    const events = await producer.publishMany([locked(), reserved(), locked()]);
    // The loop numbers them (it did run), then polls ten times more.
    await until(async () => (await db.count("SELECT count(*) AS n FROM dispatcher_event WHERE position IS NULL")) === 0);
    await new Promise((r) => setTimeout(r, 500));
    expect(seen).toEqual([]);
    expect(await db.count("SELECT count(*) AS n FROM dispatcher_dedup")).toBe(0);
    expect([(await cursor("coaching", "credit.locked")).position, (await cursor("coaching", "credit.reserved")).position]).toEqual([0, 0]);

    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    const notified: string[] = [];
    listener.on("notification", (n) => notified.push(`${n.channel}:${n.payload}`));
    await listener.query("LISTEN dispatcher_event_inserted");
    try {
      expect((await client.post("consumers/coaching/resume", { by: "per_ops" })).body).toEqual({
        consumer: "coaching",
        resumed: ["credit.locked", "credit.reserved"],
      });
      await until(() => seen.length === 3);
      await until(() => notified.length === 2);
      expect(notified.sort()).toEqual(["dispatcher_event_inserted:credit.locked", "dispatcher_event_inserted:credit.reserved"]);
    } finally {
      await listener.end();
    }
    expect(seen.sort()).toEqual(events.map((e) => e.event_id).sort());
    expect(await row("SELECT count(*)::int AS n FROM dispatcher_cursor WHERE paused_at IS NOT NULL OR paused_by IS NOT NULL")).toEqual({
      n: 0,
    });
    expect((await client.post("consumers/coaching/resume", { by: "per_ops" })).body).toEqual({ consumer: "coaching", resumed: [] });
  });

  it("one type only; a resume wakes the consumer at once (its poll interval is a minute)", async () => {
    const d = coaching();
    await d.start({ consumer: "coaching", pollIntervalMs: 60_000 });
    const client = consoleClient(d);
    expect((await client.post("consumers/coaching/pause", { by: "per_ops", eventType: "credit.locked" })).body.paused).toEqual([
      "credit.locked",
    ]);
    const [held, passed] = await producer.publishMany([locked(), reserved()]);
    await until(() => seen.length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual([passed!.event_id]);
    const started = Date.now();
    expect((await client.post("consumers/coaching/resume", { by: "per_ops", eventType: "credit.locked" })).body).toEqual({
      consumer: "coaching",
      resumed: ["credit.locked"],
    });
    await until(() => seen.length === 2, 10_000, "the resumed event");
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(seen).toEqual([passed!.event_id, held!.event_id]);
  });
});

describe("replicas: their heartbeats", () => {
  it("a running loop is listed, live and refreshed; gone after stop; a silent one is not live; drop refuses a live consumer", async () => {
    const d = coaching();
    await d.start({ consumer: "coaching", pollIntervalMs: 50, lagReportIntervalMs: 100, listen: false });
    await db.pool.query(
      `INSERT INTO dispatcher_consumer_instance
         (instance_id, consumer, host, pid, version, event_types, heartbeat_interval_ms, started_at, last_seen_at)
       VALUES ('ins_silent', 'audit', 'old-host', 7, '2.0.0', '{credit.locked}', 1000,
         now() - interval '10 minutes', now() - interval '4 seconds')`,
    );
    const client = consoleClient(d);
    const instanceId = d.consumerLoop!.heartbeat.instanceId;
    const stored = () => row("SELECT started_at, last_seen_at FROM dispatcher_consumer_instance WHERE instance_id = $1", [instanceId]);
    const first = await stored();
    await until(async () => (await stored()).last_seen_at > first.last_seen_at, 5000, "a heartbeat");
    const { body } = await client.get("overview");
    const now = await stored();
    const instances = (consumer: string) => body.consumers.find((c: any) => c.consumer === consumer).instances;
    expect(instances("coaching")).toEqual([
      {
        instanceId,
        host: os.hostname(),
        pid: process.pid,
        version: DISPATCHER_VERSION,
        eventTypes: ["credit.locked", "credit.reserved"],
        startedAt: first.started_at.toISOString(),
        lastSeenAt: expect.any(String),
        live: true,
      },
    ]);
    expect(
      new Date(instances("coaching")[0].lastSeenAt) > first.last_seen_at &&
        new Date(instances("coaching")[0].lastSeenAt) <= now.last_seen_at,
    ).toBe(true);
    // Known by its heartbeat row alone: no cursor, no dead letter.
    expect(body.consumers.map((c: any) => c.consumer)).toEqual(["audit", "coaching"]);
    expect((await client.get("consumers/audit")).body).toEqual(body.consumers[0]);
    expect(instances("audit")).toEqual([
      {
        instanceId: "ins_silent",
        host: "old-host",
        pid: 7,
        version: "2.0.0",
        eventTypes: ["credit.locked"],
        startedAt: expect.any(String),
        lastSeenAt: expect.any(String),
        live: false,
      },
    ]);
    // The loop polls only (no LISTEN session): its heartbeat alone shows it running.
    const refused = await client.post("consumers/coaching/drop", { by: "per_ops", confirm: "coaching" });
    expect([refused.status, refused.body]).toEqual([
      409,
      { error: { code: "INVALID_STATE", message: 'consumer "coaching" is running (1 live replica): stop it before dropping it' } },
    ]);
    await d.stop();
    const after = await client.get("consumers/coaching");
    expect(after.body.instances).toEqual([]);
  });
});

describe("rewind and drop", () => {
  it("rewind: a dry run, then the cursor moves back; what the consumer applied is skipped, never applied again", async () => {
    const d = coaching();
    const events = await producer.publishMany([locked(), locked(), locked()]);
    await runOnce(d, { consumer: "coaching" });
    const client = consoleClient(d);
    const [, second, third] = events;
    const p = await positions([second!.event_id, third!.event_id]);
    const [p2, p3] = [second, third].map((e) => p.find((r) => r.event_id === e!.event_id)!.position);
    const plan = { eventType: "credit.locked", from: p3, position: p2! - 1, events: 2, willApply: 0, forgotten: 0 };
    const dry = await client.post("consumers/coaching/rewind", {
      by: "per_ops",
      to: second!.event_id,
      eventType: "credit.locked",
      dryRun: true,
    });
    expect(dry.body).toEqual({ reprocess: false, dryRun: true, cursors: [plan], forgotten: 0 });
    expect((await cursor("coaching", "credit.locked")).position).toBe(p3);
    const done = await client.post("consumers/coaching/rewind", { by: "per_ops", to: second!.event_id, eventType: "credit.locked" });
    expect(done.body).toEqual({ reprocess: false, dryRun: false, cursors: [plan], forgotten: 0 });
    expect((await cursor("coaching", "credit.locked")).position).toBe(p2! - 1);
    seen = [];
    const again = await runOnce(d, { consumer: "coaching" });
    expect([again.delivered, again.skipped.map((e) => e.event_id), seen]).toEqual([[], [second!.event_id, third!.event_id], []]);
  });

  it("drop: the name typed again; cursors, dedup rows, dead letters and heartbeat rows go", async () => {
    const d = coaching();
    const events = await producer.publishMany([locked(), locked(), reserved()]);
    failing.add(events[1]!.event_id);
    await runOnce(d, { consumer: "coaching", retryDelaysMs: [] });
    await db.pool.query(
      `INSERT INTO dispatcher_consumer_instance
         (instance_id, consumer, host, pid, version, event_types, heartbeat_interval_ms, last_seen_at)
       VALUES ('ins_gone', 'coaching', 'old-host', 7, '2.0.0', '{credit.locked}', 1000, now() - interval '1 hour')`,
    );
    const client = consoleClient(d);
    const p = await positions(events.map((e) => e.event_id));
    const positionOf = (i: number) => p.find((r) => r.event_id === events[i]!.event_id)!.position;
    const dropped = await client.post("consumers/coaching/drop", { by: "per_ops", confirm: "coaching" });
    expect(dropped.body).toEqual({
      consumer: "coaching",
      dryRun: false,
      cursors: [
        { eventType: "credit.locked", position: positionOf(1) },
        { eventType: "credit.reserved", position: positionOf(2) },
      ],
      dedup: 2,
      deadLetters: 1,
      activeDeadLetters: 1,
    });
    const left =
      await row(`SELECT (SELECT count(*) FROM dispatcher_cursor)::int AS cursors, (SELECT count(*) FROM dispatcher_dedup)::int AS dedup,
      (SELECT count(*) FROM dispatcher_dead_letter)::int AS dead_letters,
      (SELECT count(*) FROM dispatcher_consumer_instance)::int AS instances`);
    expect(left).toEqual({ cursors: 0, dedup: 0, dead_letters: 0, instances: 0 });
    expect((await client.get("consumers/coaching")).status).toBe(404);
    expect(asJson((await client.get("overview")).body.consumers)).toEqual([]);
  });
});
