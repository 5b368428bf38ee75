import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRegistry } from "@sguild/contracts";
import { createDispatcher, createInbox, signBody, type Dispatcher, type EventEnvelope } from "../src/index.js";
import { tablesFor } from "../src/config/index.js";
import { toStructuredHttp } from "../src/fanout/index.js";
import { EventWriter } from "../src/producer/index.js";
import { caught, id, lockedPayload, testDb, type TestDb } from "./helpers.js";
import { NUL, TIMESTAMP, refusedIn, reserved } from "./publish-faults-fixtures.js";

// Issue 11, item 13 beyond publish: the writers that store events from elsewhere (the inbox, the
// fanout destination) refuse what PostgreSQL cannot store with the same typed errors, so the inbox
// answers 4xx, never 5xx; and publish through a handler's ctx.tx after its attempt ended.

let db: TestDb;
let revenue: Dispatcher;

beforeAll(async () => {
  db = await testDb();
  revenue = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
});
afterAll(async () => {
  await revenue.close();
  await db.drop();
});

const rows = () => db.count("SELECT count(*) AS n FROM dispatcher_event");
const refused = (fn: () => Promise<unknown>) => refusedIn(db, fn);

describe("a handler's ctx.tx after its attempt ended", () => {
  it("publishing through it is TRANSACTION_CLOSED: nothing written, no unhandled rejection", async () => {
    await db.pool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup");
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const c = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
    let late: any;
    const finished = new Promise<void>((resolve) => {
      c.subscribe("credit.reserved", async (_event, ctx) => {
        if (late !== undefined) return;
        await new Promise((r) => setTimeout(r, 400)); // past handlerTimeoutMs: the attempt has ended
        late = await caught(() => c.publish({ event_type: "credit.locked", payload: lockedPayload() }, { tx: ctx.tx }));
        resolve();
      });
    });
    try {
      await revenue.publish(reserved());
      await c.start({ consumer: "late_writer", handlerTimeoutMs: 100, retryDelaysMs: [60_000] });
      await finished;
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await c.close();
      process.off("unhandledRejection", onUnhandled);
    }
    expect([late.code, late.name]).toEqual(["TRANSACTION_CLOSED", "TransactionClosedError"]);
    expect(await db.count("SELECT count(*) AS n FROM dispatcher_event WHERE event_type = 'credit.locked'")).toBe(0);
    expect(unhandled).toEqual([]);
  });
});

describe("the signed inbox answers the same faults 422, never 5xx (a relay retries 5xx forever)", () => {
  it("NUL, a lone surrogate, year 0000 (a payload date-time or occurred_at): 422 with the validation code, nothing stored", async () => {
    const key = { id: "k1", secret: "inbox-secret" };
    const options = { domain: "coaching", pool: db.pool, keys: { [key.id]: key.secret }, tenants: ["tnt_sguild"] };
    const inbox = createInbox(options);
    const envelope = (overrides: Partial<EventEnvelope>, payload: Record<string, unknown> = {}): EventEnvelope => ({
      event_id: id("evt"),
      event_type: "credit.reserved",
      occurred_at: "2026-06-01T10:00:00Z",
      tenant_id: "tnt_sguild",
      producer: "revenue",
      schema_version: 1,
      payload: reserved(payload).payload,
      actor: "system:revenue",
      ...overrides,
    });
    const cases: Array<[EventEnvelope, string]> = [
      [envelope({}, { organization_id: "org\u0000" }), "PAYLOAD_INVALID"],
      [envelope({}, { organization_id: "org\ud800" }), "PAYLOAD_INVALID"],
      [envelope({}, { reserved_at: "0000-06-01T00:00:00Z" }), "PAYLOAD_INVALID"],
      [envelope({ occurred_at: "0000-06-01T00:00:00Z" }), "ENVELOPE_INVALID"],
    ];
    for (const [e, code] of cases) {
      await db.pool.query("TRUNCATE dispatcher_event");
      const message = toStructuredHttp(e);
      const request = new Request("http://inbox.test/inbox", {
        method: "POST",
        body: message.body,
        headers: { ...message.headers, "content-type": "application/cloudevents+json", ...signBody(message.body, key) },
      });
      const response = await inbox(request);
      const body = (await response.json()) as { error: { code: string } };
      expect([response.status, body.error.code]).toEqual([422, code]);
      expect(await rows()).toBe(0);
    }
    await inbox.close();
  });
});

describe("writers other than publish (inbox, fanout) run the same checks before their INSERT", () => {
  it("text and occurred_at always; payload dates when given the registry", async () => {
    const envelope = (payload: Record<string, unknown>, occurred_at = "2026-06-01T10:00:00Z"): EventEnvelope => ({
      event_id: id("evt"),
      event_type: "credit.reserved",
      occurred_at,
      tenant_id: "tnt_sguild",
      producer: "revenue",
      schema_version: 1,
      payload: reserved(payload).payload,
    });
    const plain = new EventWriter(tablesFor("public"), { idempotent: true });
    const withRegistry = new EventWriter(tablesFor("public"), { idempotent: true, registry: loadRegistry() });
    const database = { query: async (text: string, values?: unknown[]) => (await db.pool.query(text, values)).rows };
    const nul = await refused(() => plain.insert(database, [{ envelope: envelope({ organization_id: "\u0000" }) }]));
    expect([nul.code, nul.issues]).toEqual(["PAYLOAD_INVALID", [NUL("/organization_id", 0)]]);
    const occurred = await refused(() => plain.insert(database, [{ envelope: envelope({}, "0000-01-01T00:00:00Z") }]));
    expect([occurred.code, occurred.issues]).toEqual(["ENVELOPE_INVALID", [TIMESTAMP("/occurred_at", "0000-01-01T00:00:00Z")]]);
    const trace = await refused(() => plain.insert(database, [{ envelope: envelope({}), traceContext: { traceparent: "00-\u0000" } }]));
    expect([trace.code, trace.issues]).toEqual(["ENVELOPE_INVALID", [NUL("/trace_context/traceparent", 3)]]);
    const dated = await refused(() => withRegistry.insert(database, [{ envelope: envelope({ reserved_at: "0000-06-01T00:00:00Z" }) }]));
    expect([dated.code, dated.issues]).toEqual(["PAYLOAD_INVALID", [TIMESTAMP("/reserved_at", "0000-06-01T00:00:00Z")]]);
  });
});
