import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@sguild/prisma-fragment/testing";
import { createInbox, DispatcherConfigError, signBody, type EventEnvelope, type InboxOptions } from "../src/index.js";
import { toBatchHttp, toStructuredHttp } from "../src/fanout/index.js";
import { id, lockedPayload } from "./helpers.js";

// The inbox's batched mode against hostile input: each event gets the checks of a single event and
// its own typed answer; whole-request refusals store nothing; the accepted events are stored once, in order.
let database: TestDatabase;
let pool: pg.Pool;
const KEY = { id: "k2026", secret: "s3cret-2026" };
const BATCH = "application/cloudevents-batch+json";

beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url });
});
beforeEach(async () => {
  await pool.query("TRUNCATE dispatcher_event");
});
afterAll(async () => {
  await pool.end();
  await database.drop();
});

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
/** The structured CloudEvent of an envelope, as an object (an element of a batch). */
const ce = (e: EventEnvelope): Record<string, unknown> => JSON.parse(toStructuredHttp(e).body);
const signedBatch = (elements: unknown[], key = KEY) => {
  const body = JSON.stringify(elements);
  return { body, headers: { "content-type": BATCH, ...signBody(body, key) } };
};
const post = async (inbox: (r: Request) => Promise<Response>, { body, headers }: { body: string; headers: Record<string, string> }) => {
  const response = await inbox(new Request("http://x/inbox", { method: "POST", body, headers }));
  return { status: response.status, body: (await response.json()) as any };
};
const accepted = (e: EventEnvelope) => ({ id: e.event_id, status: 202 });
const refused = (eventId: string | null, status: number, code: string, message: string) => ({
  id: eventId,
  status,
  error: { code, message },
});
const rows = async () => (await pool.query("SELECT event_id, tenant_id, producer, payload FROM dispatcher_event ORDER BY id")).rows;
const storedIds = async () => (await rows()).map((r) => r.event_id as string);

describe("inbox batched mode", () => {
  it("stores a batch in its order and answers 207 with one result per event; the same batch again changes nothing", async () => {
    const events = [locked(), locked(), locked()];
    const payloadSchemaPath = "contracts/events/credit/credit.locked.v1.schema.json";
    const message = toBatchHttp(events.map((envelope) => ({ envelope, payloadSchemaPath })));
    // Each element is the body structured mode sends for that event.
    expect(message.body).toBe(`[${events.map((e) => toStructuredHttp(e, { payloadSchemaPath }).body).join(",")}]`);
    const batch = { body: message.body, headers: { ...message.headers, ...signBody(message.body, KEY) } };
    expect(await post(inboxWith(), batch)).toEqual({ status: 207, body: { results: events.map(accepted) } });
    expect(await storedIds()).toEqual(events.map((e) => e.event_id));
    expect(await post(inboxWith(), signedBatch(events.map(ce)))).toEqual({ status: 207, body: { results: events.map(accepted) } });
    expect(await storedIds()).toEqual(events.map((e) => e.event_id));
  });

  it("a batch over maxBodyBytes is 413 PAYLOAD_TOO_LARGE, over maxBatchEvents 413 BATCH_TOO_LARGE: nothing stored", async () => {
    const events = [locked(), locked(), locked()];
    const batch = signedBatch(events.map(ce));
    const size = Buffer.byteLength(batch.body);
    expect(await post(inboxWith({ maxBodyBytes: size - 1 }), batch)).toEqual({
      status: 413,
      body: { error: { code: "PAYLOAD_TOO_LARGE", message: `the body is larger than the limit of ${size - 1} bytes` } },
    });
    expect(await post(inboxWith({ maxBatchEvents: 2 }), batch)).toEqual({
      status: 413,
      body: { error: { code: "BATCH_TOO_LARGE", message: "a batch holds at most 2 events (got 3)" } },
    });
    expect(await storedIds()).toEqual([]);
    expect((await post(inboxWith({ maxBodyBytes: size, maxBatchEvents: 3 }), batch)).status).toBe(207);
    expect(() => inboxWith({ maxBatchEvents: 0 })).toThrow(DispatcherConfigError);
    expect(await storedIds()).toEqual(events.map((e) => e.event_id));
  });

  it("a forged producer inside a batch is refused (403 PRODUCER_MISMATCH) and the others are stored, in order", async () => {
    const [a, forged, b] = [locked(), locked({ producer: "growth" }), locked()];
    expect(await post(inboxWith(), signedBatch([a, forged, b].map(ce)))).toEqual({
      status: 207,
      body: {
        results: [
          accepted(a),
          refused(forged.event_id, 403, "PRODUCER_MISMATCH", '"credit.locked" is produced by "revenue" per the registry, not "growth"'),
          accepted(b),
        ],
      },
    });
    expect(await storedIds()).toEqual([a.event_id, b.event_id]);
  });

  it("a key bound to another producer refuses every event of its batch", async () => {
    const inbox = inboxWith({ keys: { growthKey: { secret: "g", producer: "growth" } } });
    const events = [locked(), locked()];
    const message = 'key "growthKey" signs events of "growth" only, not "revenue"';
    expect(await post(inbox, signedBatch(events.map(ce), { id: "growthKey", secret: "g" }))).toEqual({
      status: 207,
      body: { results: events.map((e) => refused(e.event_id, 403, "PRODUCER_MISMATCH", message)) },
    });
    expect(await storedIds()).toEqual([]);
  });

  it("mixed tenants: the foreign one is refused (403 TENANT_NOT_ALLOWED), the accepted tenants' events stored", async () => {
    const [ours, foreign, second] = [locked(), locked({ tenant_id: "tnt_elsewhere" }), locked({ tenant_id: "tnt_other" })];
    expect(await post(inboxWith({ tenants: ["tnt_sguild", "tnt_other"] }), signedBatch([ours, foreign, second].map(ce)))).toEqual({
      status: 207,
      body: {
        results: [
          accepted(ours),
          refused(foreign.event_id, 403, "TENANT_NOT_ALLOWED", 'tenant "tnt_elsewhere" is not one this inbox accepts'),
          accepted(second),
        ],
      },
    });
    expect((await rows()).map((r) => [r.event_id, r.tenant_id])).toEqual([
      [ours.event_id, "tnt_sguild"],
      [second.event_id, "tnt_other"],
    ]);
  });

  it(
    "an id twice with different content (in the batch, or already stored): " +
      "409 EVENT_ID_CONFLICT, the first content kept; the same content again is 202",
    async () => {
      const stored = locked();
      expect((await post(inboxWith(), signedBatch([ce(stored)]))).status).toBe(207);
      const fresh = locked();
      const freshOther = { ...fresh, payload: lockedPayload() };
      const storedOther = { ...stored, payload: lockedPayload() };
      const conflict = (e: EventEnvelope) =>
        refused(e.event_id, 409, "EVENT_ID_CONFLICT", `event ${e.event_id} is already stored with different content`);
      expect(await post(inboxWith(), signedBatch([fresh, freshOther, fresh, storedOther, stored].map(ce)))).toEqual({
        status: 207,
        body: { results: [accepted(fresh), conflict(fresh), accepted(fresh), conflict(stored), accepted(stored)] },
      });
      expect((await rows()).map((r) => [r.event_id, r.payload])).toEqual([
        [stored.event_id, stored.payload],
        [fresh.event_id, fresh.payload],
      ]);
    },
  );

  it("malformed or invalid events get their own typed answer and are not stored; the valid one is", async () => {
    const valid = locked();
    const noId = { ...ce(locked()), id: undefined };
    const invalid = locked({ payload: lockedPayload({ locked_credits: "six" }) });
    const purchased = locked({ event_type: "credit.purchased" });
    const unknown = locked({ event_type: "credit.teleported" });
    const answer = await post(inboxWith(), signedBatch([ce(valid), "text", noId, ce(invalid), ce(purchased), ce(unknown), [ce(locked())]]));
    expect(answer.status).toBe(207);
    expect(answer.body.results.map((r: any) => [r.id, r.status, r.error?.code])).toEqual([
      [valid.event_id, 202, undefined],
      [null, 400, "INVALID_CLOUDEVENT"],
      [null, 400, "INVALID_CLOUDEVENT"],
      [invalid.event_id, 422, "PAYLOAD_INVALID"],
      [purchased.event_id, 403, "NOT_A_CONSUMER"],
      [unknown.event_id, 422, "UNKNOWN_EVENT_TYPE"],
      [null, 400, "INVALID_CLOUDEVENT"],
    ]);
    expect(answer.body.results[2].error).toEqual({
      code: "INVALID_CLOUDEVENT",
      message: 'not a structured Sguild CloudEvent: the CloudEvent has no "id"',
      field: "id",
    });
    expect(await storedIds()).toEqual([valid.event_id]);
  });

  it("whole-request refusals store nothing: not an array, an empty one, a tampered body, ce- headers, another content type", async () => {
    const inbox = inboxWith();
    const one = ce(locked());
    const expectRefused = async (
      request: { body: string; headers: Record<string, string> },
      status: number,
      error: Record<string, string>,
    ) => expect(await post(inbox, request)).toEqual({ status, body: { error } });
    await expectRefused(signedBatch(one as unknown as unknown[]), 400, {
      code: "INVALID_CLOUDEVENT",
      message: "not a CloudEvents batch: the body must be a JSON array of CloudEvents",
      field: "body",
    });
    await expectRefused(signedBatch([]), 400, {
      code: "INVALID_CLOUDEVENT",
      message: "not a CloudEvents batch: the array is empty",
      field: "body",
    });
    const batch = signedBatch([one]);
    await expectRefused({ ...batch, body: batch.body.replace('"locked_credits":6', '"locked_credits":7') }, 401, {
      code: "BAD_SIGNATURE",
      message: "signature does not match the body",
    });
    await expectRefused({ ...batch, headers: { ...batch.headers, "ce-source": "urn:sguild:growth" } }, 400, {
      code: "INVALID_CLOUDEVENT",
      message: "ce- headers are not signed: send every attribute in the structured body",
      field: "ce-source",
    });
    await expectRefused({ ...batch, headers: { ...batch.headers, "content-type": "application/json" } }, 415, {
      code: "UNSUPPORTED_MEDIA_TYPE",
      message: "send a structured-mode CloudEvent (content-type: application/cloudevents+json)",
    });
    expect(await storedIds()).toEqual([]);
  });

  it("a storage failure answers 500 INTERNAL for the whole batch, without its message", async () => {
    const inbox = inboxWith({
      schema: "no_such_schema",
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    expect(await post(inbox, signedBatch([ce(locked()), ce(locked())]))).toEqual({
      status: 500,
      body: { error: { code: "INTERNAL", message: "internal error" } },
    });
    expect(await storedIds()).toEqual([]);
  });
});
