import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@sguild/prisma-fragment/testing";
import { createInbox, DispatcherConfigError, signBody, toNodeHandler, type EventEnvelope, type InboxOptions } from "../src/index.js";
import { toStructuredHttp } from "../src/fanout/index.js";
import { caught, id, lockedPayload } from "./helpers.js";
import { rawRequest } from "./raw-http.js";
import { streamUpload } from "./stream-upload.js";

// The signed inbox against hostile input: unbounded bodies, forged producers, conflicting ids,
// foreign tenants, unsigned CloudEvents headers. Every refusal: exact status and code, no row written.
let database: TestDatabase;
let pool: pg.Pool;
const servers: Server[] = [];
const KEY = { id: "k2026", secret: "s3cret-2026" };
const MB = 1024 * 1024;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url });
});
afterAll(async () => {
  for (const server of servers) await new Promise((r) => server.close(r));
  await pool.end();
  await database.drop();
});

const rows = async () => (await pool.query("SELECT count(*)::int AS n FROM dispatcher_event")).rows[0].n as number;
const inboxWith = (options: Partial<InboxOptions> = {}) =>
  createInbox({ domain: "coaching", pool, keys: { [KEY.id]: KEY.secret }, tenants: ["tnt_sguild"], ...options });
const locked = (overrides: Partial<EventEnvelope> = {}): EventEnvelope => ({
  event_id: id("evt"),
  event_type: "credit.locked",
  occurred_at: new Date().toISOString(),
  tenant_id: "tnt_sguild",
  producer: "revenue",
  schema_version: 1,
  payload: lockedPayload(),
  ...overrides,
});
const signed = (e: EventEnvelope, key: { id: string; secret: string } = KEY, traceContext?: Record<string, string>) => {
  const message = toStructuredHttp(e, { traceContext });
  return { body: message.body, headers: { ...message.headers, ...signBody(message.body, key) } };
};
const post = async (inbox: (r: Request) => Promise<Response>, body: string, headers: Record<string, string>) => {
  const response = await inbox(new Request("http://x/inbox", { method: "POST", body, headers }));
  return { status: response.status, body: (await response.json()) as any };
};
async function serve(handler: (r: Request) => Promise<Response>): Promise<string> {
  const server = createServer(toNodeHandler(handler));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/inbox`;
}

describe("inbox bodies are bounded and read only after the signature headers pass", () => {
  it.each([
    ["declared with Content-Length", true],
    ["chunked", false],
  ])("200 MB without signature headers, %s: 401 MISSING_SIGNATURE before it is read, RSS grows < 50 MB", async (_how, declareLength) => {
    const url = await serve(inboxWith());
    const result = await streamUpload(url, {
      headers: { "content-type": "application/cloudevents+json" },
      totalBytes: 200 * MB,
      declareLength,
    });
    console.log(
      `unsigned 200 MB (${_how}): ${result.status}, ${(result.sentBytes / MB).toFixed(1)} MB sent at the answer, ` +
        `RSS +${(result.rssGrowth / MB).toFixed(1)} MB`,
    );
    expect([result.status, result.body]).toEqual([
      401,
      { error: { code: "MISSING_SIGNATURE", message: "x-sguild-key-id, x-sguild-timestamp and x-sguild-signature are required" } },
    ]);
    expect(result.connection).toBe("close");
    expect(result.sentBytes).toBeLessThan(50 * MB);
    expect(result.rssGrowth).toBeLessThan(50 * MB);
    expect(await rows()).toBe(0);
  });

  it.each([
    ["declared with Content-Length", true],
    ["chunked", false],
  ])(
    "200 MB with valid signature headers, %s: 413 PAYLOAD_TOO_LARGE at the 1 MiB default, RSS grows < 50 MB",
    async (_how, declareLength) => {
      const url = await serve(inboxWith());
      const headers = { "content-type": "application/cloudevents+json", ...signBody("whatever", KEY) };
      const result = await streamUpload(url, { headers, totalBytes: 200 * MB, declareLength });
      console.log(
        `signed 200 MB (${_how}): ${result.status}, ${(result.sentBytes / MB).toFixed(1)} MB sent at the answer, ` +
          `RSS +${(result.rssGrowth / MB).toFixed(1)} MB`,
      );
      expect([result.status, result.body]).toEqual([
        413,
        { error: { code: "PAYLOAD_TOO_LARGE", message: "the body is larger than the limit of 1048576 bytes" } },
      ]);
      expect(result.connection).toBe("close");
      expect(result.sentBytes).toBeLessThan(50 * MB);
      expect(result.rssGrowth).toBeLessThan(50 * MB);
      expect(await rows()).toBe(0);
    },
  );

  it("maxBodyBytes is the exact limit: a body of that many bytes is stored, one byte more is 413", async () => {
    const atLimit = signed(locked());
    const size = Buffer.byteLength(atLimit.body);
    expect(await post(inboxWith({ maxBodyBytes: size - 1 }), atLimit.body, atLimit.headers)).toEqual({
      status: 413,
      body: { error: { code: "PAYLOAD_TOO_LARGE", message: `the body is larger than the limit of ${size - 1} bytes` } },
    });
    expect(await rows()).toBe(0);
    expect((await post(inboxWith({ maxBodyBytes: size }), atLimit.body, atLimit.headers)).status).toBe(202);
    expect(await rows()).toBe(1);
    await pool.query("TRUNCATE dispatcher_event");
  });

  it(
    "headers alone decide missing, malformed, unknown-key and stale signatures, " +
      "binary mode and a Content-Length over the limit (the body is never read)",
    async () => {
      const inbox = inboxWith();
      const neverRead = () =>
        new ReadableStream({
          pull: () => {
            throw new Error("the body was read");
          },
        });
      const send = async (headers: Record<string, string>) => {
        const request = new Request("http://x/inbox", {
          method: "POST",
          body: neverRead(),
          headers: { "content-type": "application/cloudevents+json", ...headers },
          duplex: "half",
        } as RequestInit);
        const response = await inbox(request);
        return [response.status, ((await response.json()) as any).error.code];
      };
      const good = signBody("x", KEY);
      expect(await send({ ...good, "x-sguild-signature": "v1=not-hex" })).toEqual([401, "BAD_SIGNATURE"]);
      expect(await send({ ...good, "x-sguild-key-id": "k1999" })).toEqual([401, "UNKNOWN_KEY_ID"]);
      expect(await send(signBody("x", KEY, Date.now() - 6 * 60_000))).toEqual([401, "STALE_TIMESTAMP"]);
      expect(await send({})).toEqual([401, "MISSING_SIGNATURE"]);
      expect(await send({ ...good, "content-type": "application/json" })).toEqual([415, "UNSUPPORTED_MEDIA_TYPE"]);
      expect(await send({ ...good, "content-length": String(MB + 1) })).toEqual([413, "PAYLOAD_TOO_LARGE"]);
    },
  );

  it(
    "over HTTP, repeated header lines are all seen: two signatures are not one valid signature (401), " +
      "two content types not the structured one (415)",
    async () => {
      const url = await serve(inboxWith());
      const e = signed(locked());
      const lines = (headers: Record<string, string>) => Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
      const send = (extra: string[]) =>
        rawRequest(
          url,
          [
            "POST /inbox HTTP/1.1",
            "Host: 127.0.0.1",
            ...lines(e.headers),
            ...extra,
            `Content-Length: ${Buffer.byteLength(e.body)}`,
            "Connection: close",
          ],
          e.body,
        );
      const twice = await send([`x-sguild-signature: ${signBody(e.body, KEY)["x-sguild-signature"]}`]);
      expect([twice.status, JSON.parse(twice.body)]).toEqual([
        401,
        { error: { code: "BAD_SIGNATURE", message: "x-sguild-signature must be v1=<64 hex digits>" } },
      ]);
      const types = await send(["Content-Type: text/plain"]);
      expect([types.status, JSON.parse(types.body)]).toEqual([
        415,
        {
          error: {
            code: "UNSUPPORTED_MEDIA_TYPE",
            message: "send a structured-mode CloudEvent (content-type: application/cloudevents+json)",
          },
        },
      ]);
      expect(await rows()).toBe(0);
      const once = await send([]);
      expect([once.status, JSON.parse(once.body)]).toEqual([202, { accepted: JSON.parse(e.body).id }]);
      await pool.query("TRUNCATE dispatcher_event");
    },
  );

  it("maxBodyBytes must be a positive integer", async () => {
    const error = await caught(() => inboxWith({ maxBodyBytes: 0 }));
    expect([error instanceof DispatcherConfigError, error.setting]).toEqual([true, "maxBodyBytes"]);
  });
});

describe("inbox refuses forged, conflicting and foreign events", () => {
  it("a producer that does not own the type: 403 PRODUCER_MISMATCH, nothing stored", async () => {
    const forged = signed(locked({ producer: "growth" }));
    expect(await post(inboxWith(), forged.body, forged.headers)).toEqual({
      status: 403,
      body: { error: { code: "PRODUCER_MISMATCH", message: '"credit.locked" is produced by "revenue" per the registry, not "growth"' } },
    });
    expect(await rows()).toBe(0);
  });

  it("a key bound to a producer signs that producer's events only", async () => {
    const inbox = inboxWith({ keys: { growthKey: { secret: "g", producer: "growth" }, revenueKey: { secret: "r", producer: "revenue" } } });
    const byGrowth = signed(locked(), { id: "growthKey", secret: "g" });
    expect(await post(inbox, byGrowth.body, byGrowth.headers)).toEqual({
      status: 403,
      body: { error: { code: "PRODUCER_MISMATCH", message: 'key "growthKey" signs events of "growth" only, not "revenue"' } },
    });
    expect(await rows()).toBe(0);
    const e = locked();
    const byRevenue = signed(e, { id: "revenueKey", secret: "r" });
    expect(await post(inbox, byRevenue.body, byRevenue.headers)).toEqual({ status: 202, body: { accepted: e.event_id } });
    expect(await rows()).toBe(1);
    await pool.query("TRUNCATE dispatcher_event");
  });

  it(
    "an event id already stored with other content: 409 EVENT_ID_CONFLICT and the row is unchanged; " + "the same content again is 202",
    async () => {
      const inbox = inboxWith();
      const original = locked();
      const first = signed(original);
      expect(await post(inbox, first.body, first.headers)).toEqual({ status: 202, body: { accepted: original.event_id } });
      const tampered = signed({ ...original, payload: lockedPayload() });
      expect(await post(inbox, tampered.body, tampered.headers)).toEqual({
        status: 409,
        body: { error: { code: "EVENT_ID_CONFLICT", message: `event ${original.event_id} is already stored with different content` } },
      });
      const otherTenant = signed({ ...original, tenant_id: "tnt_other" });
      expect((await post(inboxWith({ tenants: ["tnt_sguild", "tnt_other"] }), otherTenant.body, otherTenant.headers)).body.error.code).toBe(
        "EVENT_ID_CONFLICT",
      );
      const again = signed(original, KEY, { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" });
      expect(await post(inbox, again.body, again.headers)).toEqual({ status: 202, body: { accepted: original.event_id } });
      const stored = (await pool.query("SELECT event_id, tenant_id, payload FROM dispatcher_event")).rows;
      expect(stored).toEqual([{ event_id: original.event_id, tenant_id: "tnt_sguild", payload: original.payload }]);
      await pool.query("TRUNCATE dispatcher_event");
    },
  );

  it("a tenant outside the configured set: 403 TENANT_NOT_ALLOWED, nothing stored", async () => {
    const foreign = signed(locked({ tenant_id: "tnt_elsewhere" }));
    expect(await post(inboxWith(), foreign.body, foreign.headers)).toEqual({
      status: 403,
      body: { error: { code: "TENANT_NOT_ALLOWED", message: 'tenant "tnt_elsewhere" is not one this inbox accepts' } },
    });
    expect(await rows()).toBe(0);
  });

  it("tenants is required unless DISPATCHER_TENANT_ID is set, which is then the one tenant accepted", async () => {
    const saved = process.env["DISPATCHER_TENANT_ID"];
    try {
      delete process.env["DISPATCHER_TENANT_ID"];
      const error = await caught(() => createInbox({ domain: "coaching", pool, keys: { [KEY.id]: KEY.secret } }));
      expect([error instanceof DispatcherConfigError, error.setting]).toEqual([true, "tenants"]);
      process.env["DISPATCHER_TENANT_ID"] = "tnt_env";
      const inbox = createInbox({ domain: "coaching", pool, keys: { [KEY.id]: KEY.secret } });
      const ours = signed(locked({ tenant_id: "tnt_env" }));
      const theirs = signed(locked());
      expect([
        (await post(inbox, ours.body, ours.headers)).status,
        (await post(inbox, theirs.body, theirs.headers)).body.error.code,
      ]).toEqual([202, "TENANT_NOT_ALLOWED"]);
      expect(await rows()).toBe(1);
    } finally {
      if (saved === undefined) delete process.env["DISPATCHER_TENANT_ID"];
      else process.env["DISPATCHER_TENANT_ID"] = saved;
      await pool.query("TRUNCATE dispatcher_event");
    }
  });

  it("binary mode is refused (415): unsigned ce- headers cannot change what is stored", async () => {
    const genuine = signed(locked());
    // The signed body as binary-mode data, with the attributes in ce- headers the signature does not cover.
    const binary = {
      ...genuine.headers,
      "content-type": "application/json",
      "ce-specversion": "1.0",
      "ce-id": id("evt"),
      "ce-type": "credit.locked",
      "ce-source": "urn:sguild:revenue",
      "ce-tenantid": "tnt_sguild",
    };
    expect(await post(inboxWith(), genuine.body, binary)).toEqual({
      status: 415,
      body: {
        error: {
          code: "UNSUPPORTED_MEDIA_TYPE",
          message: "send a structured-mode CloudEvent (content-type: application/cloudevents+json)",
        },
      },
    });
    const mixed = { ...genuine.headers, "ce-source": "urn:sguild:growth" };
    expect(await post(inboxWith(), genuine.body, mixed)).toEqual({
      status: 400,
      body: {
        error: {
          code: "INVALID_CLOUDEVENT",
          message: "ce- headers are not signed: send every attribute in the structured body",
          field: "ce-source",
        },
      },
    });
    expect(await rows()).toBe(0);
  });

  it("a body without id or time is refused (400 INVALID_CLOUDEVENT): the SDK would invent them", async () => {
    const genuine = signed(locked());
    for (const name of ["id", "time"]) {
      const body = JSON.stringify({ ...JSON.parse(genuine.body), [name]: undefined });
      const response = await post(inboxWith(), body, { ...genuine.headers, ...signBody(body, KEY) });
      expect(response).toEqual({
        status: 400,
        body: {
          error: {
            code: "INVALID_CLOUDEVENT",
            message: `not a structured Sguild CloudEvent: the CloudEvent has no "${name}"`,
            field: name,
          },
        },
      });
    }
    expect(await rows()).toBe(0);
  });

  it("an internal failure answers 500 INTERNAL without its message, and logs it", async () => {
    const logged: unknown[] = [];
    const logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (fields: Record<string, unknown>) => void logged.push(fields["err"]),
    };
    const inbox = inboxWith({ schema: "no_such_schema", logger });
    const e = signed(locked());
    expect(await post(inbox, e.body, e.headers)).toEqual({ status: 500, body: { error: { code: "INTERNAL", message: "internal error" } } });
    expect((logged[0] as Error).message).toContain("no_such_schema");
  });
});
