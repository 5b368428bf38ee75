import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@sguild/prisma-fragment/testing";
import {
  createDispatcher,
  createFanoutRelay,
  createInbox,
  drainFanout,
  fromCloudEvent,
  signBody,
  toCloudEvent,
  toNodeHandler,
  type Dispatcher,
  type EventEnvelope,
  type FanoutRelay,
} from "../src/index.js";
import { toStructuredHttp } from "../src/fanout/index.js";
import { id, lockedPayload, until, reservedPayload } from "./helpers.js";

let revenueDb: TestDatabase;
let coachingDb: TestDatabase;
let revenuePool: pg.Pool;
let coachingPool: pg.Pool;
let revenue: Dispatcher;
const closers: Array<() => Promise<unknown>> = [];
const KEY = { id: "k2026", secret: "s3cret-2026" };

beforeAll(async () => {
  [revenueDb, coachingDb] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  revenuePool = new pg.Pool({ connectionString: revenueDb.url });
  coachingPool = new pg.Pool({ connectionString: coachingDb.url });
  revenue = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: revenuePool });
});
beforeEach(async () => {
  await revenuePool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter");
  await coachingPool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter");
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(async () => {
  await revenue.close();
  await revenuePool.end();
  await coachingPool.end();
  await revenueDb.drop();
  await coachingDb.drop();
});

const reserved = () => ({
  event_type: "credit.reserved" as const,
  payload: reservedPayload(),
});
const purchased = () => ({
  event_type: "credit.purchased" as const,
  payload: {
    credit_account_id: id("crd_acct"),
    person_id: id("per"),
    purchased_credits: 10,
    order_id: id("ord"),
    purchased_at: new Date().toISOString(),
  },
});
const coachingRows = async () =>
  (await coachingPool.query("SELECT event_id, event_type FROM dispatcher_event ORDER BY id")).rows as Array<{
    event_id: string;
    event_type: string;
  }>;

function relay(destination: "database" | { url: string }, retryDelaysMs = [20, 50]): FanoutRelay {
  const r = createFanoutRelay({
    source: { producer: "revenue", tenantId: "tnt_sguild", databaseUrl: revenueDb.url },
    destinations: {
      coaching:
        destination === "database" ? { kind: "database", databaseUrl: coachingDb.url } : { kind: "http", url: destination.url, key: KEY },
    },
    consumerOptions: { pollIntervalMs: 50, retryDelaysMs },
  });
  closers.push(() => r.close());
  return r;
}

/** An inbox over HTTP that counts requests and lists the event ids it received, in order (a batch's in its order). */
async function inboxServer(
  port = 0,
  options: { domain?: string; keys?: Record<string, string> } = {},
): Promise<{ url: string; port: number; posts: () => number; received: () => string[] }> {
  const inbox = createInbox({
    domain: options.domain ?? "coaching",
    pool: coachingPool,
    keys: options.keys ?? { [KEY.id]: KEY.secret },
    tenants: ["tnt_sguild"],
  });
  let posts = 0;
  const received: string[] = [];
  const server: Server = createServer((req, res) => {
    posts += 1;
    toNodeHandler(async (request: Request) => {
      const body = JSON.parse(await request.clone().text()) as { id: string } | Array<{ id: string }>;
      received.push(...(Array.isArray(body) ? body : [body]).map((e) => e.id));
      return inbox(request);
    })(req, res);
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  closers.push(() => new Promise((r) => server.close(r)));
  const actual = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${actual}/inbox`, port: actual, posts: () => posts, received: () => received };
}

describe("database destination", () => {
  it("relays every event a coaching consumer is registered for, in order per type, and nothing else", async () => {
    const r = relay("database");
    await r.start();
    const published: EventEnvelope[] = [];
    for (let i = 0; i < 10; i += 1) {
      published.push(...(await revenue.publishMany([reserved(), { event_type: "credit.locked", payload: lockedPayload() }, purchased()])));
    }
    const expected = published.filter((e) => e.event_type !== "credit.purchased");
    await until(async () => (await coachingRows()).length === expected.length, 15_000, "the relay");
    await new Promise((res) => setTimeout(res, 200));
    const rows = await coachingRows();
    for (const type of ["credit.reserved", "credit.locked"]) {
      expect(rows.filter((x) => x.event_type === type).map((x) => x.event_id)).toEqual(
        expected.filter((e) => e.event_type === type).map((e) => e.event_id),
      );
    }
    const stored = (
      await coachingPool.query(
        "SELECT event_id, event_type, schema_version, tenant_id, producer, actor, payload FROM dispatcher_event WHERE event_id = $1",
        [expected[0]!.event_id],
      )
    ).rows[0];
    expect(stored).toEqual({
      event_id: expected[0]!.event_id,
      event_type: "credit.reserved",
      schema_version: 1,
      tenant_id: "tnt_sguild",
      producer: "revenue",
      actor: "system:revenue",
      payload: expected[0]!.payload,
    });
  });
});

describe("HTTP destination and the signed inbox", () => {
  it("a destination down, then up: nothing lost, no duplicate", async () => {
    const placeholder = await inboxServer();
    await closers.pop()!(); // free the port: the destination is down
    const r = relay({ url: placeholder.url });
    await r.start();
    const published = await revenue.publishMany(Array.from({ length: 30 }, reserved));
    await new Promise((res) => setTimeout(res, 400));
    expect(await coachingRows()).toEqual([]);
    expect((await r.pending())[0]!.retrying).toBe(1);
    const up = await inboxServer(placeholder.port);
    await until(async () => (await coachingRows()).length === 30, 20_000, "delivery after the inbox came up");
    await new Promise((res) => setTimeout(res, 300));
    expect((await coachingRows()).map((x) => x.event_id)).toEqual(published.map((e) => e.event_id));
    // Each event reached the inbox once, in order: the first of the retried transaction alone, the other 29 in one batch.
    expect(up.received()).toEqual(published.map((e) => e.event_id));
    expect(up.posts()).toBe(2);
    expect((await revenuePool.query("SELECT count(*)::int AS n FROM dispatcher_dead_letter")).rows[0].n).toBe(0);
  });

  it("two relays at once deliver each event once", async () => {
    const inbox = await inboxServer();
    const [a, b] = [relay({ url: inbox.url }), relay({ url: inbox.url })];
    await Promise.all([a.start(), b.start()]);
    const published: EventEnvelope[] = [];
    for (let i = 0; i < 4; i += 1) published.push(...(await revenue.publishMany(Array.from({ length: 25 }, reserved))));
    await until(async () => (await coachingRows()).length === 100, 20_000);
    await new Promise((res) => setTimeout(res, 300));
    // One cursor per type, whichever relay holds it: each event was sent once, in order, in batches.
    expect(inbox.received()).toEqual(published.map((e) => e.event_id));
    expect(inbox.posts()).toBeLessThan(100);
    expect(new Set((await coachingRows()).map((x) => x.event_id)).size).toBe(100);
  });

  it("parks a permanent refusal as a fanout dead letter, and drain reports it", async () => {
    const inbox = await inboxServer(0, { domain: "sales" }); // sales does not consume credit.reserved
    const [event] = await revenue.publishMany([reserved()]);
    const result = await drainFanout(
      {
        source: { producer: "revenue", tenantId: "tnt_sguild", databaseUrl: revenueDb.url },
        destinations: { coaching: { kind: "http", url: inbox.url, key: KEY } },
      },
      { timeoutMs: 10_000 },
    );
    expect(result).toEqual({ ok: false, destinations: [{ domain: "coaching", lagEvents: 0, deadLetters: 1, retrying: 0 }] });
    const dead = (await revenuePool.query("SELECT consumer, event_id, error_class, attempts, error_message FROM dispatcher_dead_letter"))
      .rows;
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      consumer: "fanout:coaching",
      event_id: event!.event_id,
      error_class: "PermanentFailureError",
      attempts: 1,
    });
    expect(dead[0].error_message).toContain("403");
  });

  it("drain delivers everything pending and reports ok", async () => {
    await revenue.publishMany(Array.from({ length: 12 }, reserved));
    const result = await drainFanout({
      source: { producer: "revenue", tenantId: "tnt_sguild", databaseUrl: revenueDb.url },
      destinations: { coaching: { kind: "database", databaseUrl: coachingDb.url } },
    });
    expect(result).toEqual({ ok: true, destinations: [{ domain: "coaching", lagEvents: 0, deadLetters: 0, retrying: 0 }] });
    expect(await coachingRows()).toHaveLength(12);
  });
});

describe("inbox refusals", () => {
  const envelope = (): EventEnvelope => ({
    event_id: id("evt"),
    event_type: "credit.reserved",
    occurred_at: new Date().toISOString(),
    tenant_id: "tnt_sguild",
    producer: "revenue",
    schema_version: 1,
    payload: reserved().payload,
    actor: "system:revenue",
  });
  const request = (body: string, headers: Record<string, string>) =>
    new Request("http://x/inbox", { method: "POST", body, headers: { "content-type": "application/cloudevents+json", ...headers } });
  const signed = (e: EventEnvelope, key = KEY, now = Date.now()) => {
    const message = toStructuredHttp(e);
    return { body: message.body, headers: { ...message.headers, ...signBody(message.body, key, now) } };
  };
  const send = async (body: string, headers: Record<string, string>) => {
    const inbox = createInbox({
      domain: "coaching",
      pool: coachingPool,
      keys: { [KEY.id]: KEY.secret, old: "previous-secret" },
      tenants: ["tnt_sguild"],
    });
    const response = await inbox(request(body, headers));
    return { status: response.status, body: (await response.json()) as { error?: { code: string }; accepted?: string } };
  };
  const stored = async () => (await coachingPool.query("SELECT count(*)::int AS n FROM dispatcher_event")).rows[0].n as number;

  it("stores once: the same event twice is one row and 2xx both times; rotated keys both work", async () => {
    const e = envelope();
    const first = signed(e);
    expect(await send(first.body, first.headers)).toEqual({ status: 202, body: { accepted: e.event_id } });
    const again = signed(e, { id: "old", secret: "previous-secret" });
    expect(await send(again.body, again.headers)).toEqual({ status: 202, body: { accepted: e.event_id } });
    expect(await stored()).toBe(1);
  });

  it.each([
    [
      "bad signature",
      () => {
        const s = signed(envelope(), { id: KEY.id, secret: "wrong" });
        return [s.body, s.headers] as const;
      },
      401,
      "BAD_SIGNATURE",
    ],
    [
      "stale timestamp",
      () => {
        const s = signed(envelope(), KEY, Date.now() - 6 * 60_000);
        return [s.body, s.headers] as const;
      },
      401,
      "STALE_TIMESTAMP",
    ],
    [
      "unknown key id",
      () => {
        const s = signed(envelope(), { id: "k1999", secret: KEY.secret });
        return [s.body, s.headers] as const;
      },
      401,
      "UNKNOWN_KEY_ID",
    ],
    [
      "tampered body",
      () => {
        const s = signed(envelope());
        return [s.body.replace('"reserved_credits":1', '"reserved_credits":9'), s.headers] as const;
      },
      401,
      "BAD_SIGNATURE",
    ],
    [
      "no signature",
      () => {
        const s = signed(envelope());
        return [s.body, { "content-type": "application/cloudevents+json" }] as const;
      },
      401,
      "MISSING_SIGNATURE",
    ],
    [
      "invalid payload",
      () => {
        const e = envelope();
        (e.payload as Record<string, unknown>)["reserved_credits"] = 0;
        const s = signed(e);
        return [s.body, s.headers] as const;
      },
      422,
      "PAYLOAD_INVALID",
    ],
    [
      "invalid envelope",
      () => {
        const e = envelope();
        e.actor = "someone";
        const s = signed(e);
        return [s.body, s.headers] as const;
      },
      422,
      "ENVELOPE_INVALID",
    ],
    [
      "not a consumer",
      () => {
        const e = { ...envelope(), event_type: "credit.purchased", payload: purchased().payload };
        const s = signed(e);
        return [s.body, s.headers] as const;
      },
      403,
      "NOT_A_CONSUMER",
    ],
    [
      "not a CloudEvent",
      () => {
        const body = '{"hello":"world"}';
        return [body, { ...signBody(body, KEY) }] as const;
      },
      400,
      "INVALID_CLOUDEVENT",
    ],
  ])("%s: refused with its code, nothing stored", async (_name, make, status, code) => {
    const [body, headers] = make();
    const response = await send(body, headers as Record<string, string>);
    expect([response.status, response.body.error?.code]).toEqual([status, code]);
    expect(await stored()).toBe(0);
  });
});

describe("CloudEvents", () => {
  it("round-trips an envelope losslessly, with trace context", () => {
    const e: EventEnvelope = {
      event_id: id("evt"),
      event_type: "credit.locked",
      occurred_at: "2026-06-01T15:00:00.000Z",
      tenant_id: "tnt_sguild",
      producer: "revenue",
      schema_version: 1,
      payload: lockedPayload(),
      subject: id("per"),
      actor: "system:revenue",
      correlation_id: id("evt"),
    };
    const traceContext = { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
    const ce = toCloudEvent(e, { traceContext });
    expect([ce.id, ce.type, ce.source, ce.time, ce.subject, ce["tenantid"], ce["correlationid"], ce["traceparent"]]).toEqual([
      e.event_id,
      "credit.locked",
      "urn:sguild:revenue",
      e.occurred_at,
      e.subject,
      "tnt_sguild",
      e.correlation_id,
      traceContext.traceparent,
    ]);
    expect(fromCloudEvent(ce)).toEqual({ envelope: e, traceContext });
    const minimal: EventEnvelope = {
      event_id: e.event_id,
      event_type: e.event_type,
      occurred_at: e.occurred_at,
      tenant_id: "t",
      producer: "revenue",
      schema_version: 2,
      payload: {},
    };
    expect(fromCloudEvent(toCloudEvent(minimal))).toEqual({ envelope: minimal });
  });
});
