// JetStream transport on one real nats-server and two real PostgreSQL databases (revenue produces, coaching consumes).
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@sguild/prisma-fragment/testing";
import {
  createConsole,
  createDispatcher,
  DispatcherConfigError,
  JetStreamTransportError,
  NatsClientMissingError,
  type Dispatcher,
} from "../src/index.js";
import {
  createJetStreamInbox,
  createJetStreamRelay,
  ensureStream,
  jetStreamStatus,
  type JetStreamConfig,
  type JetStreamInbox,
  type JetStreamRelay,
  toJetStreamMessage,
} from "../src/jetstream/index.js";
import { loadNatsClient } from "../src/jetstream/client.js";
import { caught, runCli, until } from "./helpers.js";
import { APPLIED_LOG_SQL, COACHING_TYPES, expectExact, ledger, locked, purchased, reserved, TENANT } from "./jetstream-fixtures.js";
import { freePort, NatsCluster } from "./nats-helpers.js";

let nats: NatsCluster;
let revenueDb: TestDatabase;
let coachingDb: TestDatabase;
let revenuePool: pg.Pool;
let coachingPool: pg.Pool;
let revenue: Dispatcher;
const closers: Array<() => Promise<unknown>> = [];
let run = 0;
let jetstream: JetStreamConfig;

beforeAll(async () => {
  nats = await NatsCluster.start(1);
  [revenueDb, coachingDb] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  revenuePool = new pg.Pool({ connectionString: revenueDb.url });
  coachingPool = new pg.Pool({ connectionString: coachingDb.url });
  await coachingPool.query(APPLIED_LOG_SQL);
  revenue = createDispatcher({ producer: "revenue", tenantId: TENANT, pool: revenuePool });
});
beforeEach(async () => {
  await revenuePool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter");
  await coachingPool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter, applied_log");
  // A stream and subject prefix per test: streams may not share subjects.
  run += 1;
  jetstream = { servers: nats.servers, stream: { name: `SGUILD_T${run}` }, subjectPrefix: `t${run}` };
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(async () => {
  await revenue?.close();
  await revenuePool?.end();
  await coachingPool?.end();
  await revenueDb?.drop();
  await coachingDb?.drop();
  await nats?.stop();
});

function relay(options: Partial<Parameters<typeof createJetStreamRelay>[0]> = {}): JetStreamRelay {
  const r = createJetStreamRelay({
    source: { producer: "revenue", tenantId: TENANT, databaseUrl: revenueDb.url },
    jetstream,
    consumerOptions: { pollIntervalMs: 50, retryDelaysMs: [50, 100, 200] },
    ...options,
  });
  closers.push(() => r.close());
  return r;
}

function inbox(options: Partial<Parameters<typeof createJetStreamInbox>[0]> = {}): JetStreamInbox {
  const i = createJetStreamInbox({
    target: { producer: "coaching", tenantId: TENANT, databaseUrl: coachingDb.url },
    jetstream,
    ackWaitMs: 2000,
    storeRetryDelaysMs: [50, 200],
    ...options,
  });
  closers.push(() => i.close());
  return i;
}

/** Coaching's own consumer of the events its inbox stores: one applied_log row per handling. */
async function coachingConsumer(): Promise<Dispatcher> {
  const d = createDispatcher({ producer: "coaching", tenantId: TENANT, databaseUrl: coachingDb.url });
  const apply = async (event: { event_id: string }, ctx: { tx: pg.PoolClient }) => {
    await ctx.tx.query("INSERT INTO applied_log (consumer, event_id) VALUES ('coaching', $1)", [event.event_id]);
  };
  for (const type of COACHING_TYPES) d.subscribe(type as "credit.locked", apply as never);
  await d.start({ consumer: "coaching", pollIntervalMs: 50 });
  closers.push(() => d.close());
  return d;
}

/** Publishes `n` events of the three types in transactions of up to 7. */
async function produce(n: number): Promise<void> {
  const kinds = [locked, reserved, purchased];
  for (let done = 0; done < n;) {
    const size = Math.min(n - done, 1 + ((done * 7) % 7));
    await revenue.publishMany(Array.from({ length: size }, (_, i) => kinds[(done + i) % 3]!()));
    done += size;
  }
}

const consumedCount = async () =>
  Number((await revenuePool.query("SELECT count(*) AS n FROM dispatcher_event WHERE event_type = ANY($1)", [COACHING_TYPES])).rows[0].n);
const appliedCount = async () => Number((await coachingPool.query("SELECT count(*) AS n FROM applied_log")).rows[0].n);

describe("JetStream relay and inbox on one node", () => {
  it(
    "delivers every event the domain consumes once, in order per type; " + "the relay's lag and the inbox's pending drain to zero",
    async () => {
      const r = relay();
      const i = inbox();
      await coachingConsumer();
      await r.start();
      await i.start();
      await produce(300);
      const expected = await consumedCount();
      await until(async () => (await appliedCount()) >= expected, 30_000, "every event applied in coaching");
      expectExact(await ledger(revenuePool, coachingPool), expected);
      await until(async () => (await r.pending()).every((p) => p.lagEvents === 0), 10_000, "relay caught up");
      const relayPending = await r.pending();
      expect(relayPending.map((p) => p.eventType).sort()).toEqual(r.eventTypes.slice().sort());
      expect(r.counts).toEqual({ published: 300, duplicates: 0 });
      expect(i.counts).toMatchObject({ stored: expected, duplicates: 0, terminated: {}, resyncs: 0 });
      const states = await i.pending();
      expect(states.map((s) => s.eventType).sort()).toEqual(i.eventTypes.slice().sort());
      for (const s of states) expect([s.numPending, s.numAckPending]).toEqual([0, 0]);
      const status = await jetStreamStatus({ servers: nats.servers, stream: { name: jetstream.stream.name } });
      expect(status.stream.messages).toBe(300);
      expect(status.consumers.find((c) => c.name === "sguild-coaching_credit_locked")).toMatchObject({ numPending: 0, numAckPending: 0 });
    },
  );
});

/** A NATS connection of the test's own, to read the stream and to publish what a relay would not. */
async function natsClient() {
  const { connect } = await import("@nats-io/transport-node");
  const { jetstream: js, jetstreamManager } = await import("@nats-io/jetstream");
  const nc = await connect({ servers: nats.servers });
  closers.push(() => nc.close());
  return { nc, js: js(nc), jsm: await jetstreamManager(nc) };
}

const streamMessages = async () =>
  (await jetStreamStatus({ servers: nats.servers, stream: { name: jetstream.stream.name } })).stream.messages;

describe("the messages", () => {
  it("are structured CloudEvents on <prefix>.<tenant>.<producer>.<event_type>, with Nats-Msg-Id = event id and ce- headers", async () => {
    const r = relay();
    await r.start();
    const [event] = await revenue.publishMany([locked()]);
    await until(async () => (await streamMessages()) === 1, 10_000, "the event in the stream");
    const { jsm } = await natsClient();
    const stored = (await jsm.streams.getMessage(jetstream.stream.name, { seq: 1 }))!;
    expect(stored.subject).toBe(`${jetstream.subjectPrefix}.${TENANT}.revenue.credit.locked`);
    const h = stored.header;
    expect(h.get("Nats-Msg-Id")).toBe(event!.event_id);
    expect({
      type: h.get("content-type"),
      specversion: h.get("ce-specversion"),
      id: h.get("ce-id"),
      ceType: h.get("ce-type"),
      source: h.get("ce-source"),
      time: h.get("ce-time"),
      dataschema: h.get("ce-dataschema"),
    }).toEqual({
      type: "application/cloudevents+json",
      specversion: "1.0",
      id: event!.event_id,
      ceType: "credit.locked",
      source: "urn:sguild:revenue",
      time: event!.occurred_at,
      dataschema: "https://contracts.sguild/credit-reservation-lock/schema/payloads/credit.locked-v1.json",
    });
    const body = JSON.parse(new TextDecoder().decode(stored.data));
    expect(body).toMatchObject({ id: event!.event_id, type: "credit.locked", tenantid: TENANT, schemaversion: 1, data: event!.payload });
  });
});

describe("the inbox's checks", () => {
  it("terminates and counts a message that fails them (never delivered again); the events around it are stored", async () => {
    const r = relay();
    const i = inbox();
    await coachingConsumer();
    await r.start();
    await i.start();
    const [first] = await revenue.publishMany([locked()]);
    await until(async () => (await appliedCount()) === 1, 10_000, "the first event applied");
    const { nc } = await natsClient();
    const subject = `${jetstream.subjectPrefix}.${TENANT}.revenue.credit.locked`;
    const valid = JSON.parse(toJetStreamMessage({ envelope: first! }, jetstream.subjectPrefix!).body);
    const send = (body: unknown, to = subject) => nc.publish(to, typeof body === "string" ? body : JSON.stringify(body));
    send("not json");
    send({ ...valid, id: "evt_00000000-0000-7000-8000-000000000001", data: { locked_credits: "six" } });
    send({ ...valid, id: "evt_00000000-0000-7000-8000-000000000002", source: "urn:sguild:coaching" });
    send({ ...valid, id: "evt_00000000-0000-7000-8000-000000000003" }, `${jetstream.subjectPrefix}.${TENANT}.revenue.credit.reserved`);
    send({ ...valid, data: { ...valid.data, locked_credits: 99 } });
    await nc.flush();
    await revenue.publishMany([locked(), reserved(), locked()]);
    const expected = await consumedCount();
    await until(async () => (await appliedCount()) === expected, 10_000, "the later events applied");
    await until(async () => Object.values(i.counts.terminated).reduce((a, b) => a + b, 0) === 5, 10_000, "five refusals");
    expect(i.counts.terminated).toEqual({
      INVALID_CLOUDEVENT: 1,
      PAYLOAD_INVALID: 1,
      PRODUCER_MISMATCH: 1,
      SUBJECT_MISMATCH: 1,
      EVENT_ID_CONFLICT: 1,
    });
    expectExact(await ledger(revenuePool, coachingPool), expected);
    // Terminated, not pending: JetStream does not deliver them again.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    for (const s of await i.pending()) expect([s.eventType, s.numAckPending, s.numRedelivered]).toEqual([s.eventType, 0, 0]);
    expect(i.counts.stored).toBe(expected);
  });
});

describe("the consuming domain down for a while", () => {
  it("catches up in order: the inbox stopped while events pile up in the stream, then its database refusing connections", async () => {
    const r = relay();
    await coachingConsumer();
    await r.start();
    // Coaching's inbox is not running: the stream holds what the relay published.
    const first = inbox();
    await first.start();
    await first.close();
    await produce(150);
    const expected = await consumedCount();
    await until(async () => (await streamMessages()) === 150, 10_000, "everything in the stream");
    const waiting = await jetStreamStatus({ servers: nats.servers, stream: { name: jetstream.stream.name } });
    expect(waiting.consumers.reduce((n, c) => n + c.numPending, 0)).toBe(expected);
    // Then its database refuses connections: the inbox retries the same batch until it can store it.
    const admin = new pg.Pool({ connectionString: coachingDb.url.replace(/\/[^/?]+(\?|$)/, "/postgres$1"), max: 1 });
    closers.push(() => admin.end());
    const dbName = new URL(coachingDb.url).pathname.slice(1);
    await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS false`);
    const i = inbox();
    try {
      await i.start();
      await until(() => i.counts.storeFailures >= 2, 10_000, "failed stores");
      expect(i.counts.stored).toBe(0);
    } finally {
      await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`);
    }
    await until(async () => (await appliedCount().catch(() => 0)) === expected, 30_000, "caught up");
    expectExact(await ledger(revenuePool, coachingPool), expected);
    expect(i.counts).toMatchObject({ stored: expected, duplicates: 0, terminated: {} });
  });
});

/**
 * The relay's COMMIT fails after the stream acknowledged the transaction's events (a deferred
 * trigger on its cursor), as if it crashed there: the cursor does not move and the events are
 * published again.
 */
async function failRelayCommits(on: boolean): Promise<void> {
  await revenuePool.query(`CREATE TABLE IF NOT EXISTS relay_commit_fails (on_ boolean);
    CREATE OR REPLACE FUNCTION relay_commit_fail() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF EXISTS (SELECT 1 FROM relay_commit_fails) THEN RAISE EXCEPTION 'relay crashed before its COMMIT'; END IF;
      RETURN NULL; END $$;
    DROP TRIGGER IF EXISTS relay_commit_fail ON dispatcher_cursor;
    CREATE CONSTRAINT TRIGGER relay_commit_fail AFTER UPDATE ON dispatcher_cursor DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW WHEN (NEW.consumer LIKE 'jetstream:%') EXECUTE FUNCTION relay_commit_fail();
    TRUNCATE relay_commit_fails`);
  if (on) await revenuePool.query("INSERT INTO relay_commit_fails VALUES (true)");
}

describe("a relay that published but did not move its cursor", () => {
  afterEach(async () => {
    await revenuePool.query("DROP TRIGGER IF EXISTS relay_commit_fail ON dispatcher_cursor");
  });

  it("publishes again within the duplicate window: the stream drops the duplicates", async () => {
    const r = relay({ consumerOptions: { pollIntervalMs: 50, retryDelaysMs: Array(30).fill(100) } });
    const i = inbox();
    await coachingConsumer();
    await failRelayCommits(true);
    await r.start();
    await i.start();
    await revenue.publishMany([...Array.from({ length: 20 }, locked), ...Array.from({ length: 20 }, reserved)]);
    await until(async () => (await streamMessages()) === 40, 10_000, "published");
    expect((await r.pending()).reduce((n, p) => n + p.lagEvents, 0)).toBe(40);
    await failRelayCommits(false);
    await until(async () => (await r.pending()).every((p) => p.lagEvents === 0), 10_000, "the cursor moved");
    await until(async () => (await appliedCount()) === 40, 10_000, "applied");
    expect(r.counts.duplicates).toBeGreaterThanOrEqual(40);
    expect(await streamMessages()).toBe(40);
    expectExact(await ledger(revenuePool, coachingPool), 40);
    expect(i.counts).toMatchObject({ stored: 40, duplicates: 0 });
  });

  it("publishes again past the window: the stream keeps both copies, the inbox stores the event once", async () => {
    jetstream = { ...jetstream, stream: { ...jetstream.stream, duplicateWindowMs: 500 } };
    const r = relay({ consumerOptions: { pollIntervalMs: 50, retryDelaysMs: Array(30).fill(100) } });
    const i = inbox();
    await coachingConsumer();
    await failRelayCommits(true);
    await r.start();
    await i.start();
    await revenue.publishMany([...Array.from({ length: 20 }, locked), ...Array.from({ length: 20 }, reserved)]);
    await until(async () => (await streamMessages()) >= 40, 10_000, "published");
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await failRelayCommits(false);
    await until(async () => (await r.pending()).every((p) => p.lagEvents === 0), 10_000, "the cursor moved");
    const inStream = await streamMessages();
    expect(inStream).toBeGreaterThanOrEqual(80);
    await until(() => i.counts.stored + i.counts.duplicates === inStream, 10_000, "every copy read");
    expectExact(await ledger(revenuePool, coachingPool), 40);
    expect(i.counts).toMatchObject({ stored: 40, duplicates: inStream - 40, terminated: {} });
  });
});

describe("configuration and failures", () => {
  it("refuses a malformed configuration by setting, before connecting", () => {
    const source = { producer: "revenue" as const, tenantId: TENANT, databaseUrl: revenueDb.url };
    const refused = (jet: Partial<JetStreamConfig>) => {
      try {
        createJetStreamRelay({ source, jetstream: { servers: nats.servers, stream: { name: "S" }, ...jet } as JetStreamConfig });
      } catch (error) {
        return DispatcherConfigError.isInstance(error) ? error.setting : `not a config error: ${String(error)}`;
      }
      return "accepted";
    };
    expect(refused({ servers: [] })).toBe("jetstream.servers");
    expect(refused({ stream: { name: "a.b" } })).toBe("jetstream.stream.name");
    expect(refused({ stream: { name: "S", replicas: 7 } })).toBe("jetstream.stream.replicas");
    expect(refused({ stream: { name: "S", retention: "forever" as never } })).toBe("jetstream.stream.retention");
    expect(refused({ stream: { name: "S", maxAgeMs: 1000, duplicateWindowMs: 5000 } })).toBe("jetstream.stream.duplicateWindowMs");
    expect(refused({ subjectPrefix: "a.b" })).toBe("jetstream.subjectPrefix");
    expect(() => createJetStreamRelay({ source, jetstream, eventTypes: ["lesson.delivered"] })).toThrow(/not produced by "revenue"/);
    const target = { producer: "coaching" as const, tenantId: TENANT, databaseUrl: coachingDb.url };
    expect(() => createJetStreamInbox({ target, jetstream, eventTypes: ["credit.purchased"] })).toThrow(
      /does not list "coaching" as a consumer/,
    );
    expect(() => createJetStreamInbox({ target, jetstream, tenants: ["a b"] })).toThrow(DispatcherConfigError);
  });

  it("names the packages to install when the NATS client is missing", async () => {
    const missing = (name: string) =>
      Object.assign(new Error(`Cannot find package '${name}' imported from x`), { code: "ERR_MODULE_NOT_FOUND" });
    const error = await caught(() => loadNatsClient(async (name) => (name === "@nats-io/jetstream" ? Promise.reject(missing(name)) : {})));
    expect(NatsClientMissingError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: "NATS_CLIENT_MISSING", missing: "@nats-io/jetstream" });
    expect(error.message).toContain("npm i @nats-io/transport-node @nats-io/jetstream");
    // Anything else a module throws is not hidden behind that message.
    const other = await caught(() => loadNatsClient(async () => Promise.reject(new SyntaxError("broken"))));
    expect(other).toBeInstanceOf(SyntaxError);
  });

  it("start() fails with a typed error when NATS cannot be reached; nothing is left running", async () => {
    const r = relay({ jetstream: { ...jetstream, servers: [`nats://127.0.0.1:${await freePort()}`] } });
    const error = await caught(() => r.start());
    expect(JetStreamTransportError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: "JETSTREAM_FAILED", operation: "connect" });
  });

  it("ensureStream creates the stream, updates what may change, and refuses a retention change", async () => {
    const created = await ensureStream(jetstream);
    expect(created).toMatchObject({ action: "created", subjects: [`${jetstream.subjectPrefix}.>`], replicas: 1, retention: "limits" });
    expect(await ensureStream(jetstream)).toMatchObject({ action: "unchanged" });
    expect(await ensureStream({ ...jetstream, stream: { ...jetstream.stream, maxAgeMs: 3_600_000 } })).toMatchObject({ action: "updated" });
    const error = await caught(() => ensureStream({ ...jetstream, stream: { ...jetstream.stream, retention: "interest" } }));
    expect(error).toMatchObject({ code: "JETSTREAM_FAILED", operation: "stream" });
    expect(error.message).toMatch(/retention limits, the configuration says interest/);
  });
});

describe("order when a delivery is lost", () => {
  it(
    "a message delivered and never acknowledged (lost on its way) is stored before the ones behind it, " + "once ack_wait has passed",
    async () => {
      const r = relay();
      await coachingConsumer();
      await r.start();
      const first = inbox();
      await first.start();
      await first.close();
      const events = await revenue.publishMany(Array.from({ length: 6 }, locked));
      await until(async () => (await streamMessages()) === 6, 10_000, "published");
      // Another client takes the first message of coaching's consumer and drops it: JetStream counts it delivered, unacknowledged.
      const { js } = await natsClient();
      const stolen = await (await js.consumers.get(jetstream.stream.name, "sguild-coaching_credit_locked")).next({ expires: 2000 });
      expect(stolen?.info.streamSequence).toBe(1);
      const started = Date.now();
      const i = inbox();
      await i.start();
      await until(async () => (await appliedCount()) === 6, 15_000, "applied");
      // The inbox waited for the lost message to come back before reading the ones behind it.
      expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
      const stored = (await coachingPool.query("SELECT event_id FROM dispatcher_event ORDER BY id")).rows.map((row) => row.event_id);
      expect(stored).toEqual(events.map((e) => e.event_id));
      expectExact(await ledger(revenuePool, coachingPool), 6);
    },
  );
});

describe("sguild-dispatcher status --jetstream", () => {
  it("prints the relay's cursors (a consumer like any other) and the stream's consumers: pending, ack floor", async () => {
    const r = relay();
    const i = inbox();
    await r.start();
    await i.start();
    await produce(30);
    const expected = await consumedCount();
    await until(
      async () => (await i.pending()).every((s) => s.numPending === 0 && s.numAckPending === 0) && i.counts.stored === expected,
      10_000,
    );
    const servers = nats.servers.join(",");
    const text = await runCli(revenueDb.url, "status", "--jetstream", servers, "--stream", jetstream.stream.name);
    expect(text.stderr).toBe("");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^${r.consumer}\\s+credit\\.locked\\s+\\d+`, "m"));
    expect(text.stdout).toContain(`stream ${jetstream.stream.name}: 30 messages (sequences 1..30), 1 replica(s)`);
    expect(text.stdout).toMatch(/^JETSTREAM CONSUMER\s+FILTER\s+PENDING\s+ACK PENDING/m);
    expect(text.stdout).toMatch(
      new RegExp(
        `^sguild-coaching_credit_locked\\s+${jetstream.subjectPrefix}\\.${TENANT}\\.revenue\\.credit\\.locked\\s+0\\s+0\\s+0`,
        "m",
      ),
    );
    const json = JSON.parse(
      (await runCli(revenueDb.url, "--json", "status", "--jetstream", servers, "--stream", jetstream.stream.name)).stdout,
    );
    expect(json.cursors.filter((c: { consumer: string }) => c.consumer === r.consumer)).toHaveLength(r.eventTypes.length);
    expect(json.jetstream.stream).toMatchObject({ name: jetstream.stream.name, messages: 30 });
    const durables = (await i.pending()).map((state) => state.durable).sort((x, y) => x.localeCompare(y));
    expect(json.jetstream.consumers.map((c: { name: string }) => c.name)).toEqual(durables);
    const down = await runCli(revenueDb.url, "status", "--jetstream", `nats://127.0.0.1:${await freePort()}`);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/^sguild-dispatcher: cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+/);
  });
});

describe("the console's JetStream panel", () => {
  it("shows the stream and the inbox's consumer per type with its backlog, read from NATS at each request", async () => {
    const r = relay();
    await r.start();
    const coaching = await coachingConsumer();
    const panel = createConsole({ authorize: () => true, dispatcher: coaching, jetstream });
    const get = async () => {
      const response = await panel(new Request("http://console.test/dispatcher/console/api/jetstream"));
      return { status: response.status, body: await response.json() };
    };
    // Before any inbox: the stream, no consumer.
    await revenue.publishMany([...Array.from({ length: 4 }, locked), ...Array.from({ length: 3 }, reserved)]);
    await until(async () => (await streamMessages()) === 7, 10_000, "published");
    expect(await get()).toEqual({
      status: 200,
      body: {
        configured: true,
        stream: { name: jetstream.stream.name, messages: 7, firstSequence: 1, lastSequence: 7, replicas: 1, leader: null },
        consumers: [],
      },
    });
    // The inbox started and caught up, then stopped while 5 more pile up: its locked consumer shows 5 pending.
    const i = inbox();
    await i.start();
    await until(() => i.counts.stored === 7, 10_000, "stored");
    await until(async () => (await i.pending()).every((state) => state.numAckPending === 0), 10_000, "acknowledged");
    await i.stop();
    await revenue.publishMany(Array.from({ length: 5 }, locked));
    await until(async () => (await streamMessages()) === 12, 10_000, "published");
    const { status, body } = await get();
    expect(status).toBe(200);
    const prefix = `${jetstream.subjectPrefix}.${TENANT}.revenue`;
    // One durable per type coaching consumes; only the two types published have messages.
    const rows = (body.consumers as Array<Record<string, unknown>>).map((c) => [c.name, c.filterSubject, c.numPending, c.numAckPending]);
    expect(rows).toHaveLength(i.eventTypes.length);
    expect(rows.filter((row) => row[0] === "sguild-coaching_credit_locked" || row[0] === "sguild-coaching_credit_reserved")).toEqual([
      ["sguild-coaching_credit_locked", `${prefix}.credit.locked`, 5, 0],
      ["sguild-coaching_credit_reserved", `${prefix}.credit.reserved`, 0, 0],
    ]);
    expect(rows.reduce((n, row) => n + Number(row[2]), 0)).toBe(5);
    const byName = (name: string) => (body.consumers as Array<Record<string, unknown>>).find((c) => c.name === name);
    // Each consumer acknowledged everything it was delivered. (Its delivered sequence is the stream's
    // last one it scanned, which may be past its own type's last message; which type took 1..4 varies.)
    for (const name of ["sguild-coaching_credit_locked", "sguild-coaching_credit_reserved"]) {
      const c = byName(name)!;
      expect(c.ackFloor).toBe(c.delivered);
      expect([4, 7]).toContain(c.delivered);
    }
    // Without the option the route says so; with NATS unreachable it answers 502 with the reason.
    const plain = createConsole({ authorize: () => true, dispatcher: coaching });
    const unconfigured = await plain(new Request("http://console.test/dispatcher/console/api/jetstream"));
    expect([unconfigured.status, await unconfigured.json()]).toEqual([200, { configured: false }]);
    const port = await freePort();
    const down = createConsole({
      authorize: () => true,
      dispatcher: coaching,
      jetstream: { ...jetstream, servers: [`nats://127.0.0.1:${port}`] },
    });
    const failed = await down(new Request("http://console.test/dispatcher/console/api/jetstream"));
    expect(failed.status).toBe(502);
    expect((await failed.json()).error).toMatchObject({
      code: "JETSTREAM_FAILED",
      message: expect.stringMatching(new RegExp(`^cannot connect to NATS at nats://127\\.0\\.0\\.1:${port}`)),
    });
    // A bad setting is refused when the console is created, naming it.
    const refused = await caught(() =>
      createConsole({ authorize: () => true, dispatcher: coaching, jetstream: { servers: [], stream: { name: "S" } } }),
    );
    expect(refused).toBeInstanceOf(DispatcherConfigError);
    expect(refused.message).toMatch(/servers/);
  });
});

describe("the stream gone while the relay runs", () => {
  it("the relay's transactions fail naming the cause and keep the cursor; once the stream is back every event arrives once", async () => {
    const r = relay({ consumerOptions: { pollIntervalMs: 50, retryDelaysMs: Array(50).fill(100) }, publishTimeoutMs: 1000 });
    const i = inbox();
    await coachingConsumer();
    await r.start();
    await i.start();
    await revenue.publishMany(Array.from({ length: 10 }, locked));
    await until(async () => (await appliedCount()) === 10, 10_000, "the first ten applied");
    await i.stop();
    const { jsm } = await natsClient();
    await jsm.streams.delete(jetstream.stream.name);
    await revenue.publishMany(Array.from({ length: 10 }, locked));
    const lastError = async () =>
      (
        await revenuePool.query("SELECT last_error FROM dispatcher_cursor WHERE consumer = $1 AND event_type = 'credit.locked'", [
          r.consumer,
        ])
      ).rows[0]?.last_error as string | null;
    await until(async () => /no responders/.test((await lastError()) ?? ""), 10_000, "the failure recorded");
    expect(await lastError()).toMatch(
      /^JetStream did not acknowledge event evt_\S+ on stream SGUILD_T\d+: no responders: no stream takes this subject, or the stream has no leader$/,
    );
    expect((await r.pending()).find((p) => p.eventType === "credit.locked")).toMatchObject({ lagEvents: 10, retrying: true });
    await ensureStream(jetstream);
    await until(async () => (await r.pending()).every((p) => p.lagEvents === 0), 10_000, "the relay caught up");
    // The new stream holds the ten the relay could not publish; the inbox's consumers are created again.
    expect(await streamMessages()).toBe(10);
    const again = inbox();
    await again.start();
    await until(async () => (await appliedCount()) === 20, 10_000, "every event applied");
    expectExact(await ledger(revenuePool, coachingPool), 20);
    expect(await revenuePool.query("SELECT count(*)::int AS n FROM dispatcher_dead_letter")).toMatchObject({ rows: [{ n: 0 }] });
  });
});
