import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeadLetterRoutes, createDispatcher, toNodeHandler, DispatcherConfigError, type Dispatcher } from "../src/index.js";
import { caught, lockedPayload, testDb, until, type TestDb } from "./helpers.js";
import { rawRequest } from "./raw-http.js";

let db: TestDb;
let consumer: Dispatcher;
let server: Server;
let base: string;
let ids: string[];
const failing = new Set<string>();

beforeAll(async () => {
  db = await testDb();
  const producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
  consumer = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
  consumer.subscribe("credit.locked", async (event) => {
    if (failing.has(event.event_id)) throw new Error(`projection rejected ${event.event_id}`);
  });
  const events = await producer.publishMany(
    Array.from({ length: 3 }, () => ({ event_type: "credit.locked" as const, payload: lockedPayload() })),
  );
  for (const e of events) failing.add(e.event_id);
  await consumer.start({ consumer: "coaching", pollIntervalMs: 20, retryDelaysMs: [] });
  await until(async () => (await db.count("SELECT count(*) AS n FROM dispatcher_dead_letter")) === 3);
  await consumer.stop();
  ids = (await db.pool.query("SELECT id FROM dispatcher_dead_letter ORDER BY event_position")).rows.map((r) => r.id);
  await producer.close();
  const routes = createDeadLetterRoutes({
    dispatcher: consumer,
    authorize: (request) => {
      const auth = request.headers.get("authorization");
      if (!auth) return { allowed: false, status: 401 };
      return auth === "Bearer ops" ? true : { allowed: false, status: 403, reason: "operators only" };
    },
  });
  server = createServer(toNodeHandler(routes));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/dispatcher/v1/dlq`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await consumer.close();
  await db.drop();
});

const call = async (path: string, init: RequestInit & { token?: string | null } = {}) => {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (init.token !== null) headers["authorization"] = `Bearer ${init.token ?? "ops"}`;
  const response = await fetch(`${base}${path}`, { ...init, headers });
  return { status: response.status, body: (await response.json()) as any };
};

describe("dead-letter routes over real HTTP", () => {
  it("cannot be created without an authorize hook", () => {
    expect(() => createDeadLetterRoutes({} as never)).toThrow(DispatcherConfigError);
    expect(() => createDeadLetterRoutes({} as never)).toThrow(expect.objectContaining({ code: "CONFIG_INVALID", setting: "authorize" }));
  });

  it("401 and 403 come from the hook", async () => {
    expect(await call("?consumer=coaching", { token: null })).toEqual({
      status: 401,
      body: { error: { code: "UNAUTHORIZED", message: "authentication required" } },
    });
    expect(await call("?consumer=coaching", { token: "guest" })).toEqual({
      status: 403,
      body: { error: { code: "FORBIDDEN", message: "operators only" } },
    });
  });

  it("lists, groups and reads", async () => {
    const list = await call("?consumer=coaching&limit=2");
    expect(list.status).toBe(200);
    expect(list.body.dead_letters.map((d: { id: string }) => d.id)).toEqual([ids[2], ids[1]]);
    expect(Object.keys(list.body.dead_letters[0]).sort()).toEqual(
      [
        "attempts",
        "consumer",
        "created_at",
        "envelope",
        "error_class",
        "error_message",
        "event_id",
        "event_type",
        "fingerprint",
        "first_failed_at",
        "last_failed_at",
        "replay_requested_at",
        "replay_requested_by",
        "resolution_note",
        "resolved_at",
        "resolved_by",
        "id",
      ].sort(),
    );
    const groups = await call("?consumer=coaching&group=true");
    expect(groups.body.groups.map((g: { count: number }) => g.count)).toEqual([3]);
    const one = await call(`/${ids[0]}`);
    expect([one.status, one.body.dead_letter.id, one.body.dead_letter.attempts]).toEqual([200, ids[0], 1]);
  });

  it("400 names the bad field; 404 for an unknown id; 405 for a wrong method", async () => {
    expect(await call("")).toEqual({
      status: 400,
      body: { error: { code: "INVALID_ARGUMENT", message: "consumer is required", field: "consumer" } },
    });
    expect((await call("?consumer=coaching&limit=0")).body.error.field).toBe("limit");
    expect((await call("?consumer=coaching&include_resolved=yes")).body.error.field).toBe("include_resolved");
    expect(await call("/42")).toEqual({
      status: 400,
      body: { error: { code: "INVALID_ARGUMENT", message: 'dead letter id must look like dlq_<UUID> (got "42")', field: "id" } },
    });
    expect(await call("/dlq_00000000-0000-7000-8000-000000000000")).toEqual({
      status: 404,
      body: { error: { code: "DEAD_LETTER_NOT_FOUND", message: "dead letter dlq_00000000-0000-7000-8000-000000000000 does not exist" } },
    });
    expect((await call(`/${ids[0]}/resolve`, { method: "POST", body: "{}" })).body).toEqual({
      error: { code: "INVALID_ARGUMENT", message: "resolved_by is required", field: "resolved_by" },
    });
    expect((await call(`/${ids[0]}/resolve`, { method: "POST", body: "not json" })).body).toEqual({
      error: { code: "INVALID_JSON", message: "the body must be a JSON object" },
    });
    expect((await call(`/${ids[0]}/resolve`)).status).toBe(405);
    expect((await call(`/${ids[0]}/explode`, { method: "POST", body: "{}" })).status).toBe(404);
  });

  it("query and body fields are checked by schema: 400 INVALID_ARGUMENT naming the first field at fault, nothing changed", async () => {
    const refused = (field: string, message: string) => ({ status: 400, body: { error: { code: "INVALID_ARGUMENT", message, field } } });
    const limit = refused("limit", "limit must be an integer from 1 to 1000");
    for (const value of ["1001", "1e2", "", "-1", "2.5"]) expect(await call(`?consumer=coaching&limit=${value}`)).toEqual(limit);
    expect(await call("?consumer=coaching&group=1")).toEqual(refused("group", "group must be true or false"));
    expect(await call("?consumer=coaching&consumer=sales")).toEqual(refused("consumer", "consumer must be given once"));
    expect(await call("?consumer=%20%20")).toEqual(refused("consumer", "consumer is required"));
    expect(await call(`?consumer=${"c".repeat(201)}`)).toEqual(refused("consumer", "consumer must be at most 200 characters"));
    const post = (action: string, body: unknown) => call(`/${ids[2]}/${action}`, { method: "POST", body: JSON.stringify(body) });
    expect(await post("resolve", { resolved_by: 42 })).toEqual(refused("resolved_by", "resolved_by must be a string"));
    expect(await post("resolve", { resolved_by: "   " })).toEqual(refused("resolved_by", "resolved_by is required"));
    expect(await post("resolve", { resolved_by: "x".repeat(201) })).toEqual(
      refused("resolved_by", "resolved_by must be at most 200 characters"),
    );
    expect(await post("resolve", { resolved_by: "per_ops", resolution_note: 5 })).toEqual(
      refused("resolution_note", "resolution_note must be a string"),
    );
    expect(await post("resolve", { resolved_by: "per_ops", resolution_notes: "typo" })).toEqual(
      refused("resolution_notes", "resolution_notes is not a field of this body"),
    );
    expect(await post("replay", { replayed_by: null })).toEqual(refused("replayed_by", "replayed_by must be a string"));
    expect(await post("replay", { replayed_by: "per_ops", dry_run: true })).toEqual(
      refused("dry_run", "dry_run is not a field of this body"),
    );
    expect(await post("replay", ["per_ops"])).toEqual({
      status: 400,
      body: { error: { code: "INVALID_JSON", message: "the body must be a JSON object" } },
    });
    expect(
      await db.count("SELECT count(*) AS n FROM dispatcher_dead_letter WHERE resolved_at IS NULL AND replay_requested_at IS NULL"),
    ).toBe(3);
  });

  it("two Authorization lines reach the hook as one value, not as the first one: 403", async () => {
    const head = [
      "GET /api/dispatcher/v1/dlq?consumer=coaching HTTP/1.1",
      "Host: 127.0.0.1",
      "Authorization: Bearer ops",
      "Authorization: Bearer guest",
      "Connection: close",
    ];
    const response = await rawRequest(base, head);
    expect([response.status, JSON.parse(response.body)]).toEqual([403, { error: { code: "FORBIDDEN", message: "operators only" } }]);
  });

  it("mounted in a Hono app, or exported as a Next.js route handler, the routes answer the same", async () => {
    const routes = createDeadLetterRoutes({
      dispatcher: consumer,
      authorize: (request) => request.headers.get("authorization") === "Bearer ops",
    });
    const app = new Hono();
    app.all("/api/dispatcher/v1/dlq/*", (c) => routes(c.req.raw));
    app.all("/api/dispatcher/v1/dlq", (c) => routes(c.req.raw));
    const GET = routes; // app/api/dispatcher/v1/dlq/[[...path]]/route.ts: export const GET = routes, POST = routes;
    const init = { headers: { authorization: "Bearer ops" } };
    const answer = async (response: Response) => [response.status, (await response.json()) as any] as const;
    const [honoStatus, honoBody] = await answer(await app.request(`/api/dispatcher/v1/dlq/${ids[1]}`, init));
    const [nextStatus, nextBody] = await answer(await GET(new Request(`https://admin.example/api/dispatcher/v1/dlq/${ids[1]}`, init)));
    expect([honoStatus, honoBody.dead_letter.id, nextStatus, nextBody.dead_letter.id]).toEqual([200, ids[1], 200, ids[1]]);
    const limit = { error: { code: "INVALID_ARGUMENT", message: "limit must be an integer from 1 to 1000", field: "limit" } };
    expect(await answer(await app.request("/api/dispatcher/v1/dlq?consumer=coaching&limit=0", init))).toEqual([400, limit]);
    expect(await answer(await app.request("/api/dispatcher/v1/dlq?consumer=coaching"))).toEqual([
      401,
      { error: { code: "UNAUTHORIZED", message: "authentication required" } },
    ]);
  });

  it("resolves once (409 the second time), never leaking stacks or SQL", async () => {
    const ok = await call(`/${ids[0]}/resolve`, {
      method: "POST",
      body: JSON.stringify({ resolved_by: "per_ops", resolution_note: "duplicate booking" }),
    });
    expect([ok.status, ok.body.dead_letter.resolved_by, ok.body.dead_letter.resolution_note]).toEqual([
      200,
      "per_ops",
      "duplicate booking",
    ]);
    const again = await call(`/${ids[0]}/resolve`, { method: "POST", body: JSON.stringify({ resolved_by: "per_ops" }) });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("DEAD_LETTER_ALREADY_RESOLVED");
    expect(JSON.stringify(again.body)).not.toMatch(/at .*\.ts|SELECT|UPDATE/);
  });

  it("replays: still failing leaves it active; fixed resolves it", async () => {
    // A letter is replayed by the process that runs its consumer.
    await consumer.start({ consumer: "coaching", pollIntervalMs: 20, retryDelaysMs: [] });
    try {
      const stillFailing = await call(`/${ids[1]}/replay`, { method: "POST", body: JSON.stringify({ replayed_by: "per_ops" }) });
      expect([
        stillFailing.status,
        stillFailing.body.outcome,
        stillFailing.body.dead_letter.resolved_at,
        stillFailing.body.error.class,
      ]).toEqual([200, "failed", null, "Error"]);
      failing.clear();
      const fixed = await call(`/${ids[1]}/replay`, { method: "POST", body: JSON.stringify({ replayed_by: "per_ops" }) });
      expect([fixed.status, fixed.body.outcome, fixed.body.dead_letter.resolved_by]).toEqual([200, "replayed", "per_ops"]);
    } finally {
      await consumer.stop();
    }
  });

  it("a dispatcher without the handler hands the replay to the consumer (202)", async () => {
    const other = createDispatcher({ producer: "platform", tenantId: "tnt_sguild", pool: db.pool });
    const routes = createDeadLetterRoutes({ dispatcher: other, authorize: () => true });
    const response = await routes(
      new Request(`http://x/api/dispatcher/v1/dlq/${ids[2]}/replay`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ replayed_by: "per_ops" }),
      }),
    );
    const body = (await response.json()) as any;
    expect([response.status, body.outcome, body.dead_letter.replay_requested_by]).toEqual([202, "requested", "per_ops"]);
    expect((await caught(() => other.deadLetters.requestReplay(ids[0]!, { requestedBy: "x" }))).code).toBe("DEAD_LETTER_ALREADY_RESOLVED");
    await other.close();
  });
});
