import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createDeadLetterRoutes,
  createDispatcher,
  DispatcherConfigError,
  toNodeHandler,
  type DeadLetterRoutesOptions,
  type Dispatcher,
} from "../src/index.js";
import { caught, lockedPayload, testDb, until, type TestDb } from "./helpers.js";
import { rawRequest } from "./raw-http.js";
import { streamUpload } from "./stream-upload.js";

// The DLQ routes and toNodeHandler against hostile input: cross-site simple requests, oversized
// bodies, authorize hooks that do not say yes, spoofed Host, control characters, leaking internals.
let db: TestDb;
let consumer: Dispatcher;
let ids: string[];
let base: string;
let decide: (request: Request) => unknown = () => true;
const servers: Server[] = [];
const MB = 1024 * 1024;

async function serve(handler: (r: Request) => Promise<Response>): Promise<string> {
  const server = createServer(toNodeHandler(handler));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  db = await testDb();
  const producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
  consumer = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
  consumer.subscribe("credit.locked", async (event) => {
    throw new Error(`projection rejected ${event.event_id}`);
  });
  await producer.publishMany([1, 2].map(() => ({ event_type: "credit.locked" as const, payload: lockedPayload() })));
  await producer.close();
  await consumer.start({ consumer: "coaching", pollIntervalMs: 20, retryDelaysMs: [] });
  await until(async () => (await db.count("SELECT count(*) AS n FROM dispatcher_dead_letter")) === 2);
  await consumer.stop();
  ids = (await db.pool.query("SELECT id FROM dispatcher_dead_letter ORDER BY event_position")).rows.map((r) => r.id);
  base = `${await serve(createDeadLetterRoutes({ dispatcher: consumer, authorize: (r) => decide(r) as never }))}/api/dispatcher/v1/dlq`;
});
afterAll(async () => {
  for (const server of servers) await new Promise((r) => server.close(r));
  await consumer.close();
  await db.drop();
});

const call = async (path: string, init: { method?: string; body?: string; contentType?: string | null } = {}) => {
  const headers: Record<string, string> = init.contentType === null ? {} : { "content-type": init.contentType ?? "application/json" };
  const response = await fetch(`${base}${path}`, { method: init.method ?? "GET", body: init.body, headers });
  return { status: response.status, body: (await response.json()) as any };
};
const resolveBody = JSON.stringify({ resolved_by: "per_attacker" });
const active = async () =>
  db.count("SELECT count(*) AS n FROM dispatcher_dead_letter WHERE resolved_at IS NULL AND replay_requested_at IS NULL");

describe("DLQ POST routes refuse cross-site simple requests", () => {
  it.each([
    ["text/plain"],
    ["application/x-www-form-urlencoded"],
    ["multipart/form-data; boundary=x"],
    ["application/json-patch+json"],
    [null],
  ])("content-type %s: 415 UNSUPPORTED_MEDIA_TYPE, nothing resolved", async (contentType) => {
    for (const action of ["resolve", "replay"]) {
      const body = action === "resolve" ? resolveBody : JSON.stringify({ replayed_by: "per_attacker" });
      expect(await call(`/${ids[0]}/${action}`, { method: "POST", body, contentType })).toEqual({
        status: 415,
        body: { error: { code: "UNSUPPORTED_MEDIA_TYPE", message: "POST bodies must be sent as content-type: application/json" } },
      });
    }
    expect(await active()).toBe(2);
  });

  it.each([
    ["application/json", "text/plain"],
    ["application/json; charset=utf-8", "text/plain"],
    ["text/plain", "application/json"],
  ])("Content-Type lines %s and %s are not one application/json: 415, nothing resolved", async (first, second) => {
    const head = [
      `POST /api/dispatcher/v1/dlq/${ids[0]}/resolve HTTP/1.1`,
      "Host: 127.0.0.1",
      `Content-Type: ${first}`,
      `Content-Type: ${second}`,
      `Content-Length: ${resolveBody.length}`,
      "Connection: close",
    ];
    const response = await rawRequest(base, head, resolveBody);
    expect([response.status, JSON.parse(response.body)]).toEqual([
      415,
      { error: { code: "UNSUPPORTED_MEDIA_TYPE", message: "POST bodies must be sent as content-type: application/json" } },
    ]);
    expect(await active()).toBe(2);
  });

  it("application/json with parameters or in another case is accepted", async () => {
    for (const contentType of ["application/json; charset=utf-8", "Application/JSON"]) {
      expect((await call(`/${ids[0]}/resolve`, { method: "POST", body: "{}", contentType })).body.error.code).toBe("INVALID_ARGUMENT");
    }
  });
});

describe("DLQ route bodies are bounded", () => {
  it.each([
    ["declared with Content-Length", true],
    ["chunked", false],
  ])("30 MB, %s: 413 PAYLOAD_TOO_LARGE at the 64 KiB default, RSS grows < 50 MB", async (how, declareLength) => {
    const result = await streamUpload(`${base}/${ids[0]}/resolve`, {
      headers: { "content-type": "application/json" },
      totalBytes: 30 * MB,
      declareLength,
    });
    console.log(
      `DLQ 30 MB (${how}): ${result.status}, ${(result.sentBytes / MB).toFixed(1)} MB sent at the answer, ` +
        `RSS +${(result.rssGrowth / MB).toFixed(1)} MB`,
    );
    expect([result.status, result.body, result.connection]).toEqual([
      413,
      { error: { code: "PAYLOAD_TOO_LARGE", message: "the body is larger than the limit of 65536 bytes" } },
      "close",
    ]);
    expect(result.sentBytes).toBeLessThan(20 * MB);
    expect(result.rssGrowth).toBeLessThan(50 * MB);
    expect(await active()).toBe(2);
  });

  it("maxBodyBytes is the exact limit; it must be a positive integer", async () => {
    const body = JSON.stringify({ resolved_by: "" });
    const routes = (maxBodyBytes: number) => createDeadLetterRoutes({ dispatcher: consumer, authorize: () => true, maxBodyBytes });
    const send = async (maxBodyBytes: number) => {
      const response = await routes(maxBodyBytes)(
        new Request(`http://x/api/dispatcher/v1/dlq/${ids[0]}/resolve`, {
          method: "POST",
          body,
          headers: { "content-type": "application/json" },
        }),
      );
      return ((await response.json()) as any).error.code;
    };
    expect([await send(body.length - 1), await send(body.length)]).toEqual(["PAYLOAD_TOO_LARGE", "INVALID_ARGUMENT"]);
    const error = await caught(() => routes(-1));
    expect([error instanceof DispatcherConfigError, error.setting]).toEqual([true, "maxBodyBytes"]);
  });
});

describe("authorize: anything but an explicit allow is a deny", () => {
  it.each<[string, number, string, string, () => unknown]>([
    ["{ allowed: false } without a status", 403, "FORBIDDEN", "forbidden", () => ({ allowed: false })],
    [
      "{ allowed: false, status: 403, reason }",
      403,
      "FORBIDDEN",
      "operators only",
      () => ({ allowed: false, status: 403, reason: "operators only" }),
    ],
    ["{ allowed: false, status: 401 }", 401, "UNAUTHORIZED", "authentication required", () => ({ allowed: false, status: 401 })],
    ["{ allowed: false, status: 200 }", 403, "FORBIDDEN", "forbidden", () => ({ allowed: false, status: 200 })],
    ["false", 401, "UNAUTHORIZED", "authentication required", () => false],
    ["null", 403, "FORBIDDEN", "forbidden", () => null],
    ["undefined", 403, "FORBIDDEN", "forbidden", () => undefined],
    ['"true"', 403, "FORBIDDEN", "forbidden", () => "true"],
    ["1", 403, "FORBIDDEN", "forbidden", () => 1],
    ['{ allowed: "yes" }', 403, "FORBIDDEN", "forbidden", () => ({ allowed: "yes" })],
    ["a promise of null", 403, "FORBIDDEN", "forbidden", async () => null],
    [
      "a throw",
      401,
      "UNAUTHORIZED",
      "authorization failed",
      () => {
        throw new Error("session store at /srv/app/session.ts is down");
      },
    ],
    [
      "a rejection",
      401,
      "UNAUTHORIZED",
      "authorization failed",
      async () => {
        throw new Error("db down");
      },
    ],
  ])("%s: %s %s on every route, nothing resolved", async (_name, status, code, message, result) => {
    decide = result;
    try {
      const expected = { status, body: { error: { code, message } } };
      expect(await call("?consumer=coaching")).toEqual(expected);
      expect(await call(`/${ids[0]}`)).toEqual(expected);
      expect(await call(`/${ids[0]}/resolve`, { method: "POST", body: resolveBody })).toEqual(expected);
      expect(await active()).toBe(2);
    } finally {
      decide = () => true;
    }
  });

  it("true and { allowed: true } allow", async () => {
    for (const result of [true, { allowed: true }]) {
      decide = () => result;
      expect((await call("?consumer=coaching")).status).toBe(200);
    }
  });
});

describe("toNodeHandler and hostile request targets", () => {
  const raw = (url: string, path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const u = new URL(url);
      const req = httpRequest({ host: u.hostname, port: u.port, path, headers, agent: false }, (res) => {
        let text = "";
        res
          .setEncoding("utf8")
          .on("data", (d: string) => (text += d))
          .on("end", () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      req.on("error", reject).end();
    });

  it("the Request URL is http://localhost plus the path: the Host header and an absolute-form target never reach it", async () => {
    const echo = await serve(async (request) => Response.json({ url: request.url }));
    expect((await raw(echo, "/p?q=1", { host: "evil.example" })).body.url).toBe("http://localhost/p?q=1");
    expect((await raw(echo, "http://evil.example/p?q=1")).body.url).toBe("http://localhost/p?q=1");
    expect((await raw(echo, "//evil.example/p")).body.url).toBe("http://localhost//evil.example/p");
  });

  it("a handler that throws answers 500 INTERNAL, never its message", async () => {
    const url = await serve(async () => {
      throw new Error("password authentication failed at /srv/app/db.ts:12");
    });
    expect(await raw(url, "/x")).toEqual({ status: 500, body: { error: { code: "INTERNAL", message: "internal error" } } });
  });

  it("an internal error of a route answers 500 INTERNAL, never its message", async () => {
    const unreachable = createDispatcher({
      producer: "coaching",
      tenantId: "tnt_sguild",
      databaseUrl: "postgres://nobody:secret@127.0.0.1:1/none",
    });
    const logged: unknown[] = [];
    const logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (fields: Record<string, unknown>) => void logged.push(fields["err"]),
    };
    const routes = createDeadLetterRoutes({ dispatcher: unreachable, authorize: () => true, logger } as DeadLetterRoutesOptions);
    const response = await routes(new Request("http://x/api/dispatcher/v1/dlq?consumer=coaching"));
    expect([response.status, await response.json()]).toEqual([500, { error: { code: "INTERNAL", message: "internal error" } }]);
    expect(logged).toHaveLength(1);
    await unreachable.close();
  });
});

describe("control characters and stack traces", () => {
  it.each([["%00"], ["%01"], ["%0A"], ["%1F"], ["%7F"], ["coaching%00"]])("consumer=%s: 400 INVALID_ARGUMENT, never 500", async (value) => {
    expect(await call(`?consumer=${value}`)).toEqual({
      status: 400,
      body: { error: { code: "INVALID_ARGUMENT", message: "consumer must not contain control characters", field: "consumer" } },
    });
  });

  it("NUL in resolved_by, replayed_by or resolution_note: 400 naming the field, nothing resolved", async () => {
    const refused = async (action: string, body: unknown) =>
      (await call(`/${ids[0]}/${action}`, { method: "POST", body: JSON.stringify(body) })).body.error;
    expect(await refused("resolve", { resolved_by: "per\u0000ops" })).toEqual({
      code: "INVALID_ARGUMENT",
      message: "resolved_by must not contain control characters",
      field: "resolved_by",
    });
    expect(await refused("replay", { replayed_by: "\u0000" })).toEqual({
      code: "INVALID_ARGUMENT",
      message: "replayed_by must not contain control characters",
      field: "replayed_by",
    });
    expect(await refused("resolve", { resolved_by: "per_ops", resolution_note: "a\u0000b" })).toEqual({
      code: "INVALID_ARGUMENT",
      message: "resolution_note must not contain control characters other than tabs and line breaks",
      field: "resolution_note",
    });
    expect(await active()).toBe(2);
  });

  it("no error_stack, file path or stack frame in list and get by default; exposeErrorStack: true includes it", async () => {
    const list = await call("?consumer=coaching");
    const one = await call(`/${ids[0]}`);
    expect([list.body.dead_letters.length, "error_stack" in list.body.dead_letters[0], "error_stack" in one.body.dead_letter]).toEqual([
      2,
      false,
      false,
    ]);
    expect(one.body.dead_letter.error_message).toBe(`projection rejected ${one.body.dead_letter.event_id}`);
    for (const body of [list.body, one.body]) expect(JSON.stringify(body)).not.toMatch(/hostile-http\.test|\/work\/|\.ts:\d|\n\s+at /);
    const exposing = createDeadLetterRoutes({ dispatcher: consumer, authorize: () => true, exposeErrorStack: true });
    const response = (await (await exposing(new Request(`http://x/api/dispatcher/v1/dlq/${ids[0]}`))).json()) as any;
    expect(response.dead_letter.error_stack).toContain("hostile-http.test.ts");
  });

  it("a note may hold tabs and line breaks", async () => {
    const ok = await call(`/${ids[1]}/resolve`, {
      method: "POST",
      body: JSON.stringify({ resolved_by: "per_ops", resolution_note: "line one\n\tline two" }),
    });
    expect([ok.status, ok.body.dead_letter.resolution_note, "error_stack" in ok.body.dead_letter]).toEqual([
      200,
      "line one\n\tline two",
      false,
    ]);
  });
});
