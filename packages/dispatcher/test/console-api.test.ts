import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createConsole, createDispatcher, Dispatcher, DispatcherConfigError, toNodeHandler, type ConsoleAccess } from "../src/index.js";
import { runOnce } from "../src/testing/index.js";
import { BASE, consoleClient, ORIGIN, testAuthorize } from "./console-helpers.js";
import { lockedPayload, testDb, type TestDb } from "./helpers.js";

// The console's HTTP surface: who may do what, the cross-site refusals, the page and its assets,
// paths, methods, input checks and body limits. What the API answers is in console-consumers and
// console-data.

let db: TestDb;
let producer: Dispatcher;
let consumer: Dispatcher;
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

beforeAll(async () => {
  db = await testDb();
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
  consumer = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool });
  consumer.subscribe("credit.locked", () => undefined);
  consumer.subscribe("credit.reserved", () => undefined);
  await producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
  await runOnce(consumer, { consumer: "coaching" });
});
afterAll(async () => {
  await consumer.close();
  await producer.close();
  await db.drop();
});

const pausedCursors = () => db.count("SELECT count(*) AS n FROM dispatcher_cursor WHERE paused_at IS NOT NULL");
const error = (code: string, message: string, field?: string) => ({
  error: field === undefined ? { code, message } : { code, message, field },
});

describe("createConsole", () => {
  it("is refused without an authorize hook, and with an allowedOrigins entry that is not an origin", () => {
    expect(() => createConsole({} as never)).toThrow(DispatcherConfigError);
    expect(() => createConsole({} as never)).toThrow(expect.objectContaining({ code: "CONFIG_INVALID", setting: "authorize" }));
    for (const entry of ["admin.example", "https://admin.example/ops", "https://admin.example?x=1", "null"]) {
      expect(() => createConsole({ authorize: () => true, allowedOrigins: [entry] })).toThrow(
        expect.objectContaining({ code: "CONFIG_INVALID", setting: "allowedOrigins" }),
      );
    }
    expect(() => createConsole({ authorize: () => true, maxBodyBytes: 0 })).toThrow(expect.objectContaining({ setting: "maxBodyBytes" }));
    expect(() => createConsole({ authorize: () => true, basePath: "ops" })).toThrow(expect.objectContaining({ setting: "basePath" }));
  });
});

describe("authorize, per access level", () => {
  it("is asked 'read' for the page, assets and GETs and 'operate' for POSTs; its refusals are 401 and 403", async () => {
    const calls: Array<{ path: string; access: ConsoleAccess }> = [];
    const client = consoleClient(consumer, { authorize: testAuthorize(calls) });
    const anonymous = await client.send(new Request(`${ORIGIN}${BASE}/api/overview`));
    expect([anonymous.status, anonymous.body]).toEqual([401, error("UNAUTHORIZED", "authentication required")]);
    expect((await client.get("overview", "reader")).status).toBe(200);
    expect((await client.send(new Request(`${ORIGIN}${BASE}/`, { headers: { authorization: "Bearer reader" } }))).status).toBe(200);
    expect((await client.send(new Request(`${ORIGIN}${BASE}/assets/app.js`, { headers: { authorization: "Bearer reader" } }))).status).toBe(
      200,
    );
    const refused = await client.post("consumers/coaching/pause", { by: "per_reader" }, "reader");
    expect([refused.status, refused.body]).toEqual([403, error("FORBIDDEN", "operators only")]);
    expect((await client.post("consumers/coaching/pause", { by: "per_guest" }, "guest")).status).toBe(401);
    expect(await pausedCursors()).toBe(0);
    expect(calls).toEqual([
      { path: `${BASE}/api/overview`, access: "read" },
      { path: `${BASE}/api/overview`, access: "read" },
      { path: `${BASE}/`, access: "read" },
      { path: `${BASE}/assets/app.js`, access: "read" },
      { path: `${BASE}/api/consumers/coaching/pause`, access: "operate" },
      { path: `${BASE}/api/consumers/coaching/pause`, access: "operate" },
    ]);
  });

  it("a hook that throws answers 401", async () => {
    const client = consoleClient(consumer, {
      authorize: () => {
        throw new Error("session store down");
      },
    });
    expect(await client.get("overview")).toMatchObject({ status: 401, body: error("UNAUTHORIZED", "authorization failed") });
  });
});

describe("cross-site requests cannot operate: 403 CROSS_SITE_REQUEST before authorize runs, nothing written", () => {
  const calls: Array<{ path: string; access: ConsoleAccess }> = [];
  const handler = () => consoleClient(consumer, { authorize: testAuthorize(calls) });
  const pause = (headers: Record<string, string>, body = JSON.stringify({ by: "per_ops" })) =>
    handler().send(
      new Request(`${ORIGIN}${BASE}/api/consumers/coaching/pause`, {
        method: "POST",
        headers: { authorization: "Bearer ops", ...headers },
        body,
      }),
    );
  const json = { "content-type": "application/json", "x-sguild-console": "1" };

  it("without X-Sguild-Console: 1, as a form or text, or from a foreign origin", async () => {
    const header = "a console request that changes something must carry the header X-Sguild-Console: 1";
    const type = "a console request that changes something must be sent as content-type: application/json";
    const answers = [
      await pause({ "content-type": "application/json", origin: ORIGIN }),
      await pause({ "content-type": "application/json", "x-sguild-console": "true" }),
      await pause({ "x-sguild-console": "1", "content-type": "application/x-www-form-urlencoded" }, "by=per_ops"),
      await pause({ "x-sguild-console": "1", "content-type": "text/plain" }),
      await pause({ "x-sguild-console": "1" }),
      await pause({ ...json, origin: "https://evil.example" }),
      await pause({ ...json, origin: "null" }),
      await pause({ ...json, origin: "http://admin.example.evil.example" }),
    ];
    expect(answers.map((a) => [a.status, a.body])).toEqual([
      [403, error("CROSS_SITE_REQUEST", header)],
      [403, error("CROSS_SITE_REQUEST", header)],
      [403, error("CROSS_SITE_REQUEST", type)],
      [403, error("CROSS_SITE_REQUEST", type)],
      [403, error("CROSS_SITE_REQUEST", type)],
      [403, error("CROSS_SITE_REQUEST", 'pages at "https://evil.example" may not operate this console')],
      [403, error("CROSS_SITE_REQUEST", 'pages at "null" may not operate this console')],
      [403, error("CROSS_SITE_REQUEST", 'pages at "http://admin.example.evil.example" may not operate this console')],
    ]);
    expect(calls).toEqual([]);
    expect(await pausedCursors()).toBe(0);
  });

  it(
    "the request's own origin may: its URL's, or its Host header's (toNodeHandler's URLs are http://localhost); " +
      "allowedOrigins replaces that",
    async () => {
      const resume = (client: ReturnType<typeof consoleClient>, origin: string, url = `${ORIGIN}${BASE}`, host?: string) =>
        client.send(
          new Request(`${url}/api/consumers/coaching/resume`, {
            method: "POST",
            headers: { ...json, authorization: "Bearer ops", origin, ...(host ? { host } : {}) },
            body: JSON.stringify({ by: "per_ops" }),
          }),
        );
      const own = consoleClient(consumer);
      expect((await resume(own, ORIGIN)).body).toEqual({ consumer: "coaching", resumed: [] });
      expect((await resume(own, ORIGIN, `http://localhost${BASE}`, "admin.example")).status).toBe(200);
      expect((await resume(own, ORIGIN, `http://localhost${BASE}`, "other.example")).status).toBe(403);
      expect((await resume(own, "http://localhost:8080", `http://localhost:8080${BASE}`)).status).toBe(200);
      const listed = consoleClient(consumer, { allowedOrigins: ["https://ops.example", "https://ADMIN.example:443/"] });
      expect((await resume(listed, "https://ops.example", `http://localhost${BASE}`)).status).toBe(200);
      expect((await resume(listed, ORIGIN)).status).toBe(200);
      expect((await resume(listed, "http://localhost", `http://localhost${BASE}`)).status).toBe(403);
      // No Origin (a client that is not a browser): the header and the content type are enough.
      const noOrigin = await own.send(
        new Request(`${ORIGIN}${BASE}/api/consumers/coaching/resume`, {
          method: "POST",
          headers: { ...json, authorization: "Bearer ops" },
          body: JSON.stringify({ by: "per_ops" }),
        }),
      );
      expect(noOrigin.status).toBe(200);
    },
  );
});

describe("served by Node's http through toNodeHandler", () => {
  it("the page's own origin is the Host it was asked at (the Request URL is http://localhost there)", async () => {
    const server = createServer(toNodeHandler(consoleClient(consumer).handler));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const at = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const resume = async (origin: string) => {
        const response = await fetch(`${at}${BASE}/api/consumers/coaching/resume`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-sguild-console": "1", origin, authorization: "Bearer ops" },
          body: JSON.stringify({ by: "per_ops" }),
        });
        return [response.status, await response.json()];
      };
      expect(await resume(at)).toEqual([200, { consumer: "coaching", resumed: [] }]);
      expect((await resume("http://evil.example"))[0]).toBe(403);
      const page = await fetch(`${at}${BASE}/`, { headers: { authorization: "Bearer reader" } });
      expect([page.status, page.headers.get("content-security-policy"), (await page.text()).slice(0, 15)]).toEqual([
        200,
        CSP,
        "<!doctype html>",
      ]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe("the page and its assets", () => {
  const client = () => consoleClient(consumer);
  const page = (path: string, init: RequestInit = {}) =>
    client().handler(
      new Request(`${ORIGIN}${path}`, { ...init, headers: { authorization: "Bearer ops", ...(init.headers as Record<string, string>) } }),
    );

  it("{base} redirects to {base}/, which is the page with its CSP; the script and stylesheet come with their types", async () => {
    const bare = await page(`${BASE}?x=1`);
    expect([bare.status, bare.headers.get("location")]).toEqual([308, `${BASE}/?x=1`]);
    const html = await page(`${BASE}/`);
    const text = await html.text();
    expect([html.status, html.headers.get("content-type"), html.headers.get("content-security-policy")]).toEqual([
      200,
      "text/html; charset=utf-8",
      CSP,
    ]);
    expect([html.headers.get("x-content-type-options"), html.headers.get("referrer-policy"), html.headers.get("cache-control")]).toEqual([
      "nosniff",
      "no-referrer",
      "private, no-cache",
    ]);
    expect(text).toMatch(/^<!doctype html>/i);
    expect(text).toContain('src="assets/app.js"');
    const js = await page(`${BASE}/assets/app.js`);
    const css = await page(`${BASE}/assets/app.css`);
    expect([js.status, js.headers.get("content-type"), css.status, css.headers.get("content-type")]).toEqual([
      200,
      "text/javascript; charset=utf-8",
      200,
      "text/css; charset=utf-8",
    ]);
    const { readFileSync } = await import("node:fs");
    expect(await js.text()).toBe(readFileSync(new URL("../src/console/ui/app.js", import.meta.url), "utf8"));
    expect(await css.text()).toBe(readFileSync(new URL("../src/console/ui/app.css", import.meta.url), "utf8"));
    expect([js.headers.get("content-security-policy"), js.headers.get("x-content-type-options")]).toEqual([CSP, "nosniff"]);
  });

  it("an unchanged asset is 304 by its ETag; HEAD has no body", async () => {
    const first = await page(`${BASE}/assets/app.css`);
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    const again = await page(`${BASE}/assets/app.css`, { headers: { "if-none-match": `W/"x", ${etag}` } });
    expect([again.status, await again.text(), again.headers.get("etag")]).toEqual([304, "", etag]);
    const head = await page(`${BASE}/`, { method: "HEAD" });
    expect([head.status, await head.text(), head.headers.get("content-type")]).toEqual([200, "", "text/html; charset=utf-8"]);
  });

  it("every other path is 404, a wrong method 405; API answers are not cached", async () => {
    const anonymous = await client().handler(new Request(`${ORIGIN}/elsewhere`));
    expect([anonymous.status, await anonymous.json()]).toEqual([404, error("NOT_FOUND", "no route /elsewhere")]);
    expect((await page(`${BASE}-other/`)).status).toBe(404);
    for (const path of [
      "/assets/app.mjs",
      "/index.html",
      "/api",
      "/api/",
      "/api/nope",
      "/api/consumers",
      "/api/consumers/coaching/explode",
      "/api/dead-letters/groups/0123456789abcdef",
    ]) {
      const response = await page(`${BASE}${path}`);
      expect([path, response.status, await response.json()]).toEqual([path, 404, error("NOT_FOUND", `no route ${BASE}${path}`)]);
    }
    const wrong = await client().get("consumers/coaching/pause");
    expect([wrong.status, wrong.headers.get("allow"), wrong.body]).toEqual([405, "POST", error("METHOD_NOT_ALLOWED", "use POST")]);
    const post = await client().post("overview", {});
    expect([post.status, post.headers.get("allow")]).toEqual([405, "GET"]);
    const overview = await client().get("overview");
    expect([
      overview.headers.get("content-type"),
      overview.headers.get("cache-control"),
      overview.headers.get("content-security-policy"),
    ]).toEqual(["application/json; charset=utf-8", "no-store", CSP]);
  });

  it("need no configured dispatcher (the API does: without one it is 500, undescribed)", async () => {
    vi.stubEnv("DISPATCHER_PRODUCER", "");
    try {
      const handler = createConsole({ dispatcher: new Dispatcher(), authorize: () => true });
      expect((await handler(new Request(`${ORIGIN}${BASE}/`))).status).toBe(200);
      expect((await handler(new Request(`${ORIGIN}${BASE}/assets/app.css`))).status).toBe(200);
      const api = await handler(new Request(`${ORIGIN}${BASE}/api/overview`));
      expect([api.status, await api.json()]).toEqual([500, error("INTERNAL", "internal error")]);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("mounted elsewhere with basePath", async () => {
    const handler = createConsole({ dispatcher: consumer, basePath: "/ops/dispatcher/", authorize: () => true });
    expect((await handler(new Request(`${ORIGIN}/ops/dispatcher/api/consumers/coaching`))).status).toBe(200);
    expect((await handler(new Request(`${ORIGIN}${BASE}/api/overview`))).status).toBe(404);
  });
});

describe("input: 400 INVALID_ARGUMENT naming the field, 413 above the body limit, nothing written", () => {
  const client = () => consoleClient(consumer, { maxBodyBytes: 200 });
  const invalid = (message: string, field: string) => [400, error("INVALID_ARGUMENT", message, field)];
  const answer = async (pending: Promise<{ status: number; body: unknown }>) => {
    const a = await pending;
    return [a.status, a.body];
  };

  it("bodies", async () => {
    const c = client();
    expect(await answer(c.post("consumers/coaching/pause", {}))).toEqual(invalid("by is required", "by"));
    expect(await answer(c.post("consumers/coaching/pause", { by: "  " }))).toEqual(invalid("by is required", "by"));
    expect(await answer(c.post("consumers/coaching/pause", { by: 7 }))).toEqual(invalid("by must be a string", "by"));
    expect(await answer(c.post("consumers/coaching/pause", { by: "x\u0000" }))).toEqual(
      invalid("by must not contain control characters", "by"),
    );
    expect(await answer(c.post("consumers/coaching/pause", { by: "per_ops", type: "credit.locked" }))).toEqual(
      invalid("type is not a field of this body", "type"),
    );
    expect(await answer(c.post("consumers/coaching/pause", { by: "per_ops", eventType: "credit.nope" }))).toEqual(
      invalid('consumer "coaching" has no cursor for credit.nope', "eventType"),
    );
    expect(await answer(c.post("consumers/coaching/rewind", { by: "per_ops", to: "evt_1", dryRun: "yes" }))).toEqual(
      invalid("dryRun must be true or false", "dryRun"),
    );
    expect(await answer(c.post("consumers/coaching/rewind", { by: "per_ops", to: "last tuesday" }))).toEqual(
      invalid('--to must be an event id (evt_...) or an ISO time (got "last tuesday")', "to"),
    );
    expect(await answer(c.post("consumers/coaching/drop", { by: "per_ops", confirm: "Coaching" }))).toEqual(
      invalid('confirm must be the consumer\'s name, "coaching", typed again', "confirm"),
    );
    expect(await answer(c.post("dead-letters/groups/XYZ/resolve", { by: "per_ops" }))).toEqual(
      invalid("fingerprint must be 16 hex digits", "fingerprint"),
    );
    expect(await answer(c.post("dead-letters/42/resolve", { by: "per_ops" }))).toEqual(
      invalid('dead letter id must look like dlq_<UUID> (got "42")', "id"),
    );
    expect(await answer(c.post("dead-letters/groups/0123456789abcdef/resolve", { by: "per_ops", note: 5 }))).toEqual(
      invalid("note must be a string", "note"),
    );
    const raw = await c.send(
      new Request(`${ORIGIN}${BASE}/api/consumers/coaching/pause`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-sguild-console": "1", authorization: "Bearer ops" },
        body: "{not json",
      }),
    );
    expect([raw.status, raw.body]).toEqual([400, error("INVALID_JSON", "the body must be a JSON object")]);
    expect(await answer(c.post("consumers/coaching/pause", { by: "per_ops", padding: "x".repeat(300) }))).toEqual([
      413,
      error("PAYLOAD_TOO_LARGE", "the body is larger than the limit of 200 bytes"),
    ]);
    expect(await pausedCursors()).toBe(0);
  });

  it("queries and path segments", async () => {
    const c = client();
    expect(await answer(c.get("events?limit=501"))).toEqual(invalid("limit must be an integer from 1 to 500", "limit"));
    expect(await answer(c.get("events?limit=0"))).toEqual(invalid("limit must be an integer from 1 to 500", "limit"));
    expect(await answer(c.get("events?from=yesterday"))).toEqual(
      invalid("from must be an ISO time with its zone, such as 2026-12-02T10:00:00Z", "from"),
    );
    for (const to of ["2026-13-45", "2026-12-02T10:00:00", "2026-12-02 10:00Z", "2026-12-02T10:00+0100"]) {
      expect(await answer(c.get(`events?to=${encodeURIComponent(to)}`))).toEqual(
        invalid("to must be an ISO time with its zone, such as 2026-12-02T10:00:00Z", "to"),
      );
    }
    for (const to of ["2026-12-02", "2026-12-02T10:00Z", "2026-12-02T10:00:00.123456%2B01:00"])
      expect((await c.get(`events?to=${to}`)).status).toBe(200);
    expect(await answer(c.get("events?eventType=a&eventType=b"))).toEqual(invalid("eventType must be given once", "eventType"));
    expect(await answer(c.get("tail?after=-1"))).toEqual(invalid("after must be a position (a whole number)", "after"));
    expect(await answer(c.get("dead-letters?limit=1001"))).toEqual(invalid("limit must be an integer from 1 to 1000", "limit"));
    expect(await answer(c.get("dead-letters?includeResolved=yes"))).toEqual(
      invalid("includeResolved must be true or false", "includeResolved"),
    );
    expect(await answer(c.get("dead-letters?fingerprint=abc"))).toEqual(invalid("fingerprint must be 16 hex digits", "fingerprint"));
    expect(await answer(c.get(`consumers/${"c".repeat(201)}`))).toEqual(invalid("consumer must be at most 200 characters", "consumer"));
    expect(await answer(c.get("consumers/%E0%A4%A"))).toEqual([400, error("INVALID_ARGUMENT", "the path is not valid percent-encoding")]);
    expect(await answer(c.get("consumers/nobody"))).toEqual([
      404,
      error("UNKNOWN_CONSUMER", 'unknown consumer "nobody": no cursor or dead letter has that name (known: coaching)'),
    ]);
    expect((await c.post("consumers/nobody/pause", { by: "per_ops" })).status).toBe(404);
    expect(await answer(c.get("events/evt_00000000-0000-7000-8000-000000000000"))).toEqual([
      404,
      error("NOT_FOUND", "event evt_00000000-0000-7000-8000-000000000000 is not stored"),
    ]);
    expect(await answer(c.get("dead-letters/dlq_00000000-0000-7000-8000-000000000000"))).toEqual([
      404,
      error("DEAD_LETTER_NOT_FOUND", "dead letter dlq_00000000-0000-7000-8000-000000000000 does not exist"),
    ]);
  });
});
