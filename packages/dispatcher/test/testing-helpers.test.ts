// @sguild/dispatcher/testing: injectEvent (as if the relay delivered it), runOnce, waitForEvent.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDispatcher, PermanentFailureError } from "../src/index.js";
import { injectEvent, runOnce, waitForEvent } from "../src/testing/index.js";
import { caught, lockedPayload, testDb, type TestDb } from "./helpers.js";

let db: TestDb;
beforeAll(async () => void (db = await testDb()));
afterAll(async () => db.drop());
beforeEach(async () => {
  await db.pool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter, applied");
});

const coaching = () => createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool });
const events = () => db.count("SELECT count(*) AS n FROM dispatcher_event");

describe("injectEvent", () => {
  it("stores another domain's event as the relay would: its producer, this tenant, validated; the consumer gets it", async () => {
    const c = coaching();
    const payload = lockedPayload();
    const injected = await injectEvent(c, { event_type: "credit.locked", payload, subject: payload.person_id });
    expect(injected).toMatchObject({
      event_type: "credit.locked",
      producer: "revenue",
      tenant_id: "tnt_sguild",
      schema_version: 1,
      actor: "system:revenue",
      payload,
    });
    const applied: string[] = [];
    c.subscribe("credit.locked", async (event, ctx) => {
      await ctx.tx.query("INSERT INTO applied (consumer, event_id) VALUES ('coaching', $1)", [event.event_id]);
      applied.push(event.event_id);
    });
    const ran = await runOnce(c, { consumer: "coaching" });
    expect(ran.delivered.map((e) => e.event_id)).toEqual([injected.event_id]);
    expect(ran.delivered[0]).toEqual(injected);
    expect([ran.skipped, ran.failed]).toEqual([[], []]);
    expect(applied).toEqual([injected.event_id]);
    expect(await runOnce(c, { consumer: "coaching" })).toEqual({ delivered: [], skipped: [], failed: [] });
    expect(await db.count("SELECT count(*) AS n FROM applied")).toBe(1);
  });

  it("refuses what the relay would never deliver here, typed, and stores nothing", async () => {
    const c = coaching();
    const notOurs = await caught(() => injectEvent(c, { event_type: "lead.created", payload: { lead_id: "x" } as never }));
    expect([notOurs.code, notOurs.message]).toEqual([
      "NOT_A_CONSUMER",
      'the registry does not list "coaching" as a consumer of "lead.created" (consumers: platform-warehouse)',
    ]);
    expect(
      (await caught(() => injectEvent(c, { event_type: "credit.locked", payload: lockedPayload({ locked_credits: "6" }) as never }))).code,
    ).toBe("PAYLOAD_INVALID");
    expect((await caught(() => injectEvent(c, { event_type: "credit.lockd", payload: {} } as never))).code).toBe("UNKNOWN_EVENT_TYPE");
    expect(await events()).toBe(0);
  });
});

describe("injectEvent: a redelivery", () => {
  it("the same event_id with the same content is stored once; other content is EVENT_ID_CONFLICT", async () => {
    const c = coaching();
    const payload = lockedPayload();
    const first = await injectEvent(c, { event_type: "credit.locked", payload });
    const again = await injectEvent(c, { event_type: "credit.locked", payload, event_id: first.event_id, occurred_at: first.occurred_at });
    expect(again).toEqual(first);
    const conflict = await caught(() =>
      injectEvent(c, { event_type: "credit.locked", payload: lockedPayload(), event_id: first.event_id, occurred_at: first.occurred_at }),
    );
    expect(conflict.code).toBe("EVENT_ID_CONFLICT");
    expect((await caught(() => injectEvent(c, { event_type: "credit.locked", payload, event_id: "evt_1" }))).code).toBe("ENVELOPE_INVALID");
    expect(await events()).toBe(1);
    c.subscribe("credit.locked", () => undefined);
    expect((await runOnce(c, { consumer: "coaching" })).delivered.map((e) => e.event_id)).toEqual([first.event_id]);
  });
});

describe("runOnce", () => {
  it("returns delivered, skipped and failed exactly; a failing event is dead-lettered while the other type flows", async () => {
    const c = coaching();
    const good = await injectEvent(c, { event_type: "credit.locked", payload: lockedPayload() });
    const poison = await injectEvent(c, { event_type: "credit.locked", payload: lockedPayload({ locked_credits: 13 }) });
    const after = await injectEvent(c, { event_type: "credit.locked", payload: lockedPayload() });
    c.subscribe("credit.locked", (event) => {
      if (event.payload.locked_credits === 13) throw new Error("unlucky");
    });
    const ran = await runOnce(c, { consumer: "coaching", retryDelaysMs: [] });
    expect(ran.delivered.map((e) => e.event_id)).toEqual([good.event_id, after.event_id]);
    expect(ran.failed.map((f) => [f.event.event_id, f.attempt, f.outcome, (f.error as Error).message])).toEqual([
      [poison.event_id, 1, "dead-lettered", "unlucky"],
    ]);
    expect(await db.count("SELECT count(*) AS n FROM dispatcher_dead_letter WHERE event_id = $1", [poison.event_id])).toBe(1);
  });

  it("a failure with retries left is reported as retry and not waited for; the next runOnce after the delay applies it", async () => {
    const c = coaching();
    const event = await injectEvent(c, { event_type: "credit.locked", payload: lockedPayload() });
    let calls = 0;
    c.subscribe("credit.locked", () => {
      calls += 1;
      if (calls === 1) throw new Error("first time");
    });
    const first = await runOnce(c, { consumer: "coaching", retryDelaysMs: [50] });
    expect([first.delivered, first.failed.map((f) => [f.event.event_id, f.outcome])]).toEqual([[], [[event.event_id, "retry"]]]);
    await new Promise((r) => setTimeout(r, 80));
    const second = await runOnce(c, { consumer: "coaching", retryDelaysMs: [50] });
    expect(second.delivered.map((e) => e.event_id)).toEqual([event.event_id]);
  });

  it("a beforeCommit hook that throws PermanentFailureError dead-letters at once, as a handler's would", async () => {
    const c = coaching();
    const event = await injectEvent(c, { event_type: "credit.locked", payload: lockedPayload() });
    c.subscribe("credit.locked", (_event, ctx) => {
      ctx.beforeCommit("send", async () => {
        throw new PermanentFailureError("the destination refused it");
      });
    });
    const ran = await runOnce(c, { consumer: "coaching", retryDelaysMs: [1000, 1000] });
    expect(ran.failed.map((f) => [f.event.event_id, f.attempt, f.outcome, (f.error as Error).message])).toEqual([
      [event.event_id, 1, "dead-lettered", "the destination refused it"],
    ]);
    expect((await db.pool.query("SELECT error_class, attempts FROM dispatcher_dead_letter")).rows).toEqual([
      { error_class: "PermanentFailureError", attempts: 1 },
    ]);
  });

  it("is refused while the loop runs, and without subscriptions", async () => {
    const c = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
    expect(await caught(() => runOnce(c, { consumer: "coaching" }))).toMatchObject({ code: "INVALID_STATE" });
    c.subscribe("credit.locked", () => undefined);
    await c.start({ consumer: "coaching" });
    const refused = await caught(() => runOnce(c, { consumer: "coaching" }));
    await c.stop();
    expect([refused.code, refused.message]).toEqual([
      "INVALID_STATE",
      "runOnce() while this dispatcher's consumer loop is running: stop() it first",
    ]);
  });
});

describe("waitForEvent", () => {
  it("resolves with the first matching event, stored before or after the call", async () => {
    const revenue = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
    const before = await revenue.publish({ event_type: "credit.locked", payload: lockedPayload() });
    expect(await waitForEvent(revenue, "credit.locked")).toEqual(before);
    const wanted = lockedPayload({ locked_credits: 9 });
    const waiting = waitForEvent(revenue, "credit.locked", { where: (e) => e.payload.locked_credits === 9, timeoutMs: 5000 });
    setTimeout(() => void revenue.publish({ event_type: "credit.locked", payload: lockedPayload() }), 30);
    const later = new Promise((r) => setTimeout(r, 80)).then(() => revenue.publish({ event_type: "credit.locked", payload: wanted }));
    const [found, published] = await Promise.all([waiting, later]);
    expect(found).toEqual(published);
  });

  it("gives up with WAIT_FOR_EVENT_TIMEOUT, saying what it saw", async () => {
    const revenue = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
    await revenue.publish({ event_type: "credit.locked", payload: lockedPayload() });
    const error = await caught(() => waitForEvent(revenue, "credit.locked", { where: () => false, timeoutMs: 100 }));
    expect([error.code, error.message]).toEqual([
      "WAIT_FOR_EVENT_TIMEOUT",
      'no matching "credit.locked" event was stored within 100 ms (1 of that type seen, none matched)',
    ]);
  });
});
