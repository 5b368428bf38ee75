import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@sguild/prisma-fragment/testing";
import {
  createDispatcher,
  createFanoutRelay,
  createInbox,
  toNodeHandler,
  type Dispatcher,
  type EventEnvelope,
  type FanoutRelay,
  type FanoutRelayOptions,
} from "../src/index.js";
import { id, lockedPayload, until, reservedPayload } from "./helpers.js";

// The relay's batches over HTTP: one request per relay transaction, order per type, each event
// stored once through refusals, crashes, stops, body limits and an inbox without batched mode.
let revenueDb: TestDatabase;
let coachingDb: TestDatabase;
let revenuePool: pg.Pool;
let coachingPool: pg.Pool;
let revenue: Dispatcher;
let other: Dispatcher;
const closers: Array<() => Promise<unknown>> = [];
const KEY = { id: "k2026", secret: "s3cret-2026" };
const BATCH = "application/cloudevents-batch+json";

beforeAll(async () => {
  [revenueDb, coachingDb] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  revenuePool = new pg.Pool({ connectionString: revenueDb.url });
  coachingPool = new pg.Pool({ connectionString: coachingDb.url });
  revenue = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: revenuePool });
  other = createDispatcher({ producer: "revenue", tenantId: "tnt_other", pool: revenuePool });
});
beforeEach(async () => {
  await revenuePool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter");
  await coachingPool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter");
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(async () => {
  await Promise.all([revenue.close(), other.close()]);
  await revenuePool.end();
  await coachingPool.end();
  await revenueDb.drop();
  await coachingDb.drop();
});

const reserved = () => ({
  event_type: "credit.reserved" as const,
  payload: reservedPayload(),
});
const locked = () => ({ event_type: "credit.locked" as const, payload: lockedPayload() });
const ids = (events: EventEnvelope[]) => events.map((e) => e.event_id);
const stored = async () =>
  (await coachingPool.query("SELECT event_id FROM dispatcher_event ORDER BY id")).rows.map((r) => r.event_id as string);
const deadLetters = async () =>
  (await revenuePool.query("SELECT event_id, error_class, attempts, error_message FROM dispatcher_dead_letter")).rows;

interface Posted {
  mode: "single" | "batch";
  ids: string[];
  bytes: number;
  status?: number;
}

/**
 * The inbox over HTTP, recording each request (mode, event ids, size, status). `intercept` may answer
 * instead of the inbox; `answered` runs once the inbox answered (stored), before the answer is sent.
 */
async function inboxServer(
  options: {
    maxBodyBytes?: number;
    intercept?: (posted: Posted) => Response | undefined;
    answered?: (posted: Posted) => Promise<void>;
  } = {},
) {
  const inbox = createInbox({
    domain: "coaching",
    pool: coachingPool,
    keys: { [KEY.id]: KEY.secret },
    tenants: ["tnt_sguild"],
    maxBodyBytes: options.maxBodyBytes,
  });
  const posts: Posted[] = [];
  const handler = async (request: Request) => {
    const text = await request.clone().text();
    const body = JSON.parse(text) as { id: string } | Array<{ id: string }>;
    const posted: Posted = {
      mode: request.headers.get("content-type") === BATCH ? "batch" : "single",
      ids: (Array.isArray(body) ? body : [body]).map((e) => e.id),
      bytes: Buffer.byteLength(text),
    };
    posts.push(posted);
    const response = options.intercept?.(posted) ?? (await inbox(request));
    posted.status = response.status;
    await options.answered?.(posted);
    return response;
  };
  const server: Server = createServer(toNodeHandler(handler));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => new Promise((r) => server.close(r)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/inbox`, posts };
}

const relayOptions = (url: string, extra: { maxBatchBytes?: number } = {}): FanoutRelayOptions => ({
  source: { producer: "revenue", tenantId: "tnt_sguild", databaseUrl: revenueDb.url },
  destinations: { coaching: { kind: "http", url, key: KEY, ...extra } },
  consumerOptions: { pollIntervalMs: 50, retryDelaysMs: [20, 50], batchSize: 100 },
});
function relay(url: string, extra: { maxBatchBytes?: number } = {}): FanoutRelay {
  const r = createFanoutRelay(relayOptions(url, extra));
  closers.push(() => r.close());
  return r;
}
const settled = async (r: FanoutRelay) => until(async () => (await r.pending())[0]!.lagEvents === 0, 20_000, "the relay to catch up");

describe("HTTP batches", () => {
  it("one request per relay transaction, order kept per type, each event stored and handled once", async () => {
    const reservations: EventEnvelope[] = [];
    const locks: EventEnvelope[] = [];
    for (let i = 0; i < 5; i += 1) {
      const published = await revenue.publishMany([...Array.from({ length: 25 }, reserved), ...Array.from({ length: 25 }, locked)]);
      reservations.push(...published.filter((e) => e.event_type === "credit.reserved"));
      locks.push(...published.filter((e) => e.event_type === "credit.locked"));
    }
    const inbox = await inboxServer();
    const r = relay(inbox.url);
    await r.start();
    await settled(r);
    const rows = await stored();
    expect(rows.filter((x) => reservations.some((e) => e.event_id === x))).toEqual(ids(reservations));
    expect(rows.filter((x) => locks.some((e) => e.event_id === x))).toEqual(ids(locks));
    expect(rows).toHaveLength(250);
    // Per type: a transaction of 100 (its first event alone, then 99 in one batch), then one of 25 in one batch.
    for (const events of [reservations, locks]) {
      const posts = inbox.posts.filter((p) => events.some((e) => e.event_id === p.ids[0]));
      expect(posts.map((p) => [p.mode, p.ids, p.status])).toEqual([
        ["single", ids(events.slice(0, 1)), 202],
        ["batch", ids(events.slice(1, 100)), 207],
        ["batch", ids(events.slice(100)), 207],
      ]);
    }
    const coaching = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", databaseUrl: coachingDb.url });
    closers.push(() => coaching.close());
    const handled: string[] = [];
    coaching.subscribe("credit.reserved", (event) => void handled.push(event.event_id));
    coaching.subscribe("credit.locked", (event) => void handled.push(event.event_id));
    await coaching.start({ consumer: "coaching", pollIntervalMs: 50 });
    await until(() => handled.length >= 250, 20_000, "coaching to handle every event");
    await new Promise((res) => setTimeout(res, 200));
    expect([...handled].sort()).toEqual([...ids(reservations), ...ids(locks)].sort());
  });

  it(
    "an event refused inside a batch fails the batch; " +
      "delivered again one by one, it alone is dead-lettered at once and the rest stored once, in order",
    async () => {
      const before = await revenue.publishMany(Array.from({ length: 10 }, reserved));
      const [refused] = await other.publishMany([reserved()]); // tnt_other: not a tenant of this inbox
      const after = await revenue.publishMany(Array.from({ length: 10 }, reserved));
      const all = [...before, refused!, ...after];
      const inbox = await inboxServer();
      const r = relay(inbox.url);
      await r.start();
      await until(async () => (await deadLetters()).length === 1, 20_000, "the refusal to be parked");
      await settled(r);
      expect(await stored()).toEqual(ids([...before, ...after]));
      expect(await r.pending()).toEqual([{ domain: "coaching", lagEvents: 0, deadLetters: 1, retrying: 0 }]);
      const [dead] = await deadLetters();
      expect([dead.event_id, dead.error_class, dead.attempts]).toEqual([refused!.event_id, "PermanentFailureError", 1]);
      expect(dead.error_message).toContain("inbox refused " + refused!.event_id + ' with 403: {"error":{"code":"TENANT_NOT_ALLOWED"');
      // The first attempt: the first event alone, the other 20 in a batch whose answer refuses one.
      // Nothing committed, so the consumer delivered the 21 again one per transaction, each alone.
      expect(inbox.posts.map((p) => [p.mode, p.ids, p.status])).toEqual([
        ["single", ids(all.slice(0, 1)), 202],
        ["batch", ids(all.slice(1)), 207],
        ...all.map((e) => ["single", [e.event_id], e === refused ? 403 : 202]),
      ]);
    },
  );

  it("kill -9 of the relay after the inbox stored a batch, then a new relay: nothing lost, nothing stored twice, order kept", async () => {
    const published = await revenue.publishMany(Array.from({ length: 250 }, reserved));
    let child: ChildProcess | undefined;
    let killed = false;
    const inbox = await inboxServer({
      answered: async (posted) => {
        if (posted.mode !== "batch" || killed || !child) return;
        killed = true; // the batch is stored; its relay dies before it hears so, in its delivery transaction
        child.kill("SIGKILL");
        await once(child, "exit");
      },
    });
    const script = `import { createFanoutRelay } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
      await createFanoutRelay(JSON.parse(process.argv[1])).start();
      process.stdout.write("started\\n");`;
    child = spawn(process.execPath, ["--input-type=module", "-e", script, JSON.stringify(relayOptions(inbox.url))], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    closers.push(async () => void (child!.exitCode === null && child!.signalCode === null && child!.kill("SIGKILL")));
    await until(() => killed, 20_000, "the relay child to send its first batch");
    expect(await stored()).toEqual(ids(published.slice(0, 100)));
    const r = relay(inbox.url);
    await r.start();
    await settled(r);
    expect(await stored()).toEqual(ids(published));
    expect(await deadLetters()).toEqual([]);
    // The killed transaction's events were sent again by the new relay and taken as the same events.
    const sent = inbox.posts.flatMap((p) => p.ids);
    expect(sent).toEqual([...ids(published.slice(0, 100)), ...ids(published)]);
    expect(inbox.posts.every((p) => p.status === 202 || p.status === 207)).toBe(true);
  });

  it("stop() while a batch is in flight waits for it: the next relay starts after it, nothing is sent twice", async () => {
    const published = await revenue.publishMany(Array.from({ length: 150 }, reserved));
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    let stopping: Promise<void> | undefined;
    const inbox = await inboxServer({ answered: async (posted) => void (posted.mode === "batch" && !stopping && (await held)) });
    const first = relay(inbox.url);
    await first.start();
    await until(() => inbox.posts.some((p) => p.mode === "batch"), 20_000, "a batch in flight");
    stopping = first.stop();
    release();
    await stopping;
    const second = relay(inbox.url);
    await second.start();
    await settled(second);
    expect(await stored()).toEqual(ids(published));
    expect(inbox.posts.flatMap((p) => p.ids)).toEqual(ids(published));
  });

  it("batches are cut to maxBatchBytes (the inbox's maxBodyBytes): every request fits, order kept", async () => {
    const published = await revenue.publishMany(Array.from({ length: 60 }, reserved));
    const inbox = await inboxServer({ maxBodyBytes: 8192 });
    const r = relay(inbox.url, { maxBatchBytes: 8192 });
    await r.start();
    await settled(r);
    expect(await stored()).toEqual(ids(published));
    expect(inbox.posts.flatMap((p) => p.ids)).toEqual(ids(published));
    expect(inbox.posts.filter((p) => p.mode === "batch").length).toBeGreaterThan(5);
    expect(inbox.posts.every((p) => p.bytes <= 8192 && (p.status === 202 || p.status === 207))).toBe(true);
  });

  it("an inbox without batched mode (415): the relay sends events one at a time from then on, nothing lost or parked", async () => {
    const published = await revenue.publishMany(Array.from({ length: 30 }, reserved));
    const inbox = await inboxServer({
      intercept: (posted) =>
        posted.mode === "batch"
          ? new Response('{"error":{"code":"UNSUPPORTED_MEDIA_TYPE","message":"old inbox"}}', { status: 415 })
          : undefined,
    });
    const r = relay(inbox.url);
    await r.start();
    await settled(r);
    expect(await stored()).toEqual(ids(published));
    expect(await deadLetters()).toEqual([]);
    expect(inbox.posts.map((p) => [p.mode, p.ids, p.status])).toEqual([
      ["single", ids(published.slice(0, 1)), 202],
      ["batch", ids(published.slice(1)), 415],
      ...published.map((e) => ["single", [e.event_id], 202]),
    ]);
  });
  it("maxBatchBytes and maxBatchEvents must be positive integers", () => {
    for (const [setting, value] of [
      ["maxBatchBytes", 0],
      ["maxBatchEvents", 1.5],
    ] as const) {
      const options = relayOptions("http://127.0.0.1:9/inbox");
      options.destinations = { coaching: { kind: "http", url: "http://127.0.0.1:9/inbox", key: KEY, [setting]: value } };
      expect(() => createFanoutRelay(options)).toThrow(expect.objectContaining({ code: "CONFIG_INVALID", setting }));
    }
  });
});

describe("database destination", () => {
  /** A TCP proxy to the coaching database that can be taken down and brought back on the same port. */
  async function proxy() {
    const target = new URL(coachingDb.url);
    const sockets = new Set<Socket>();
    const server = createTcpServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("error", () => undefined).on("close", () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const down = () => new Promise<void>((r) => (server.close(() => r()), sockets.forEach((s) => s.destroy())));
    closers.push(() => (server.listening ? down() : Promise.resolve()));
    return {
      url: Object.assign(new URL(coachingDb.url), { hostname: "127.0.0.1", port: String(port) }).href,
      down,
      up: () => new Promise<void>((r) => server.listen(port, "127.0.0.1", r)),
    };
  }

  it(
    "a destination database that is down is retried past the retry delays, never parked; " + "then everything arrives once, in order",
    async () => {
      const link = await proxy();
      await link.down();
      const r = createFanoutRelay({ ...relayOptions(""), destinations: { coaching: { kind: "database", databaseUrl: link.url } } });
      closers.push(() => r.close());
      const published = await revenue.publishMany(Array.from({ length: 30 }, reserved));
      await r.start();
      await until(
        async () =>
          (await revenuePool.query("SELECT failed_attempts FROM dispatcher_cursor WHERE event_type = 'credit.reserved'")).rows[0]
            .failed_attempts > 4,
        20_000,
        "attempts past the 2 retry delays",
      );
      expect([await stored(), await deadLetters(), (await r.pending())[0]!.retrying]).toEqual([[], [], 1]);
      await link.up();
      await settled(r);
      expect(await stored()).toEqual(ids(published));
      expect(await deadLetters()).toEqual([]);
    },
  );
});
