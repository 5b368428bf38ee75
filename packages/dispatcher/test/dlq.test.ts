import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  DeadLetterAlreadyResolvedError,
  DeadLetterNotFoundError,
  InvalidArgumentError,
  createDispatcher,
  type Dispatcher,
} from "../src/index.js";
import { caught, lockedPayload, testDb, until, type TestDb } from "./helpers.js";

let db: TestDb;
let producer: Dispatcher;
let consumer: Dispatcher;
let failing: Set<string>;

beforeAll(async () => {
  db = await testDb();
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
});
beforeEach(async () => {
  await db.pool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter, applied");
  failing = new Set();
  consumer = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
  consumer.subscribe("credit.locked", async (event, ctx) => {
    if (failing.has(event.event_id)) throw new RangeError(`slot for ${event.payload.lesson_id} is gone (attempt ${ctx.attempt})`);
    await ctx.tx.query("INSERT INTO applied (consumer, event_id) VALUES ($1, $2)", [ctx.consumer, event.event_id]);
  });
});
afterEach(async () => {
  await consumer.close();
});
afterAll(async () => {
  await producer.close();
  await db.drop();
});

/**
 * Publishes `n` events that fail and runs the consumer until they are dead-lettered; stops it
 * unless `running` (a consumer replays only its own letters, from the process that runs it).
 */
async function deadLetters(n: number, running = false): Promise<string[]> {
  const events = await producer.publishMany(
    Array.from({ length: n }, () => ({ event_type: "credit.locked" as const, payload: lockedPayload() })),
  );
  for (const e of events) failing.add(e.event_id);
  await consumer.start({ consumer: "coaching", pollIntervalMs: 20, retryDelaysMs: [5] });
  await until(async () => (await db.count("SELECT count(*) AS n FROM dispatcher_dead_letter")) === n);
  if (!running) await consumer.stop();
  return (await db.pool.query("SELECT id FROM dispatcher_dead_letter ORDER BY event_position")).rows.map((r) => r.id);
}

describe("dead-letter service", () => {
  it("lists newest first, reads one, resolves once", async () => {
    const ids = await deadLetters(3);
    const service = consumer.deadLetters;
    expect((await service.list("coaching")).map((d) => d.id)).toEqual([...ids].reverse());
    expect(await service.list("coaching", { limit: 1 })).toHaveLength(1);
    const one = await service.get(ids[0]!);
    expect([one.consumer, one.eventType, one.errorClass, one.attempts, one.resolvedAt]).toEqual([
      "coaching",
      "credit.locked",
      "RangeError",
      2,
      null,
    ]);
    expect(one.errorMessage).toMatch(/^slot for les_.* is gone \(attempt 2\)$/);

    const resolved = await service.resolve(ids[0]!, { resolvedBy: "per_ops", resolutionNote: "lesson deleted" });
    expect([resolved.resolvedBy, resolved.resolutionNote, resolved.resolvedAt instanceof Date]).toEqual([
      "per_ops",
      "lesson deleted",
      true,
    ]);
    const again = await caught(() => service.resolve(ids[0]!, { resolvedBy: "per_other" }));
    expect(again).toBeInstanceOf(DeadLetterAlreadyResolvedError);
    expect(again.code).toBe("DEAD_LETTER_ALREADY_RESOLVED");
    expect((await service.list("coaching")).map((d) => d.id)).toEqual([ids[2], ids[1]]);
    expect((await service.list("coaching", { includeResolved: true })).map((d) => d.id)).toEqual([...ids].reverse());
  });

  it("groups by failure fingerprint: one bug, one group", async () => {
    await deadLetters(3);
    const groups = await consumer.deadLetters.groups("coaching");
    expect(groups).toHaveLength(1);
    expect([groups[0]!.count, groups[0]!.errorClass, groups[0]!.eventTypes]).toEqual([3, "RangeError", ["credit.locked"]]);
  });

  it("refuses bad ids and unknown ones with typed errors", async () => {
    const bad = await caught(() => consumer.deadLetters.get("42"));
    expect(bad).toBeInstanceOf(InvalidArgumentError);
    expect(bad).toMatchObject({ code: "INVALID_ARGUMENT", argument: "id" });
    const missing = await caught(() => consumer.deadLetters.get("dlq_00000000-0000-7000-8000-000000000000"));
    expect(missing).toBeInstanceOf(DeadLetterNotFoundError);
    expect(missing).toMatchObject({ code: "DEAD_LETTER_NOT_FOUND", deadLetterId: "dlq_00000000-0000-7000-8000-000000000000" });
    expect((await caught(() => consumer.deadLetters.resolve("dlq_00000000-0000-7000-8000-000000000000", { resolvedBy: "x" }))).code).toBe(
      "DEAD_LETTER_NOT_FOUND",
    );
    expect(await caught(() => consumer.deadLetters.resolve("dlq_00000000-0000-7000-8000-000000000000", { resolvedBy: "" }))).toMatchObject({
      code: "INVALID_ARGUMENT",
      argument: "resolvedBy",
    });
  });

  it("replays: a handler that now succeeds resolves it, one that still fails leaves it active with the new error", async () => {
    const [fixed, broken] = await deadLetters(2, true);
    const fixedEvent = (await consumer.deadLetters.get(fixed!)).eventId;
    failing.delete(fixedEvent);
    const ok = await consumer.deadLetters.replay(fixed!, { replayedBy: "per_ops" });
    expect([ok.outcome, ok.deadLetter.resolvedBy, ok.deadLetter.resolutionNote]).toEqual(["replayed", "per_ops", "replayed"]);
    expect(await db.count("SELECT count(*) AS n FROM applied WHERE event_id = $1", [fixedEvent])).toBe(1);

    const before = await consumer.deadLetters.get(broken!);
    const failed = await consumer.deadLetters.replay(broken!, { replayedBy: "per_ops" });
    expect([failed.outcome, failed.deadLetter.resolvedAt, failed.deadLetter.attempts]).toEqual(["failed", null, before.attempts + 1]);
    expect(failed.deadLetter.errorMessage).toMatch(/\(attempt 3\)$/);
    expect(failed.deadLetter.lastFailedAt.getTime()).toBeGreaterThan(before.lastFailedAt.getTime());
    expect(await db.count("SELECT count(*) AS n FROM applied WHERE event_id = $1", [before.eventId])).toBe(0);
  });

  it("replay respects dedup: an event the consumer already has is not handled twice", async () => {
    const [id] = await deadLetters(1, true);
    const d = await consumer.deadLetters.get(id!);
    await db.pool.query("INSERT INTO dispatcher_dedup (consumer, event_id) VALUES ('coaching', $1)", [d.eventId]);
    failing.delete(d.eventId);
    const result = await consumer.deadLetters.replay(id!, { replayedBy: "per_ops" });
    expect([result.outcome, result.deadLetter.resolutionNote]).toEqual([
      "already_delivered",
      "replay: the consumer already had this event",
    ]);
    expect(await db.count("SELECT count(*) AS n FROM applied")).toBe(0);
  });

  it("bulk replay by consumer and event type, and a requested replay picked up by the running consumer", async () => {
    const ids = await deadLetters(3, true);
    failing.clear();
    const results = await consumer.deadLetters.replayAll("coaching", { replayedBy: "per_ops", eventType: "credit.locked", limit: 2 });
    expect(results.map((r) => [r.deadLetter.id, r.outcome])).toEqual([
      [ids[0], "replayed"],
      [ids[1], "replayed"],
    ]);
    const operator = createDispatcher({ producer: "platform", tenantId: "tnt_sguild", pool: db.pool });
    await operator.deadLetters.requestReplay(ids[2]!, { requestedBy: "per_cli" });
    await until(async () => (await consumer.deadLetters.get(ids[2]!)).resolvedAt !== null);
    expect((await consumer.deadLetters.get(ids[2]!)).resolvedBy).toBe("per_cli");
    expect(await db.count("SELECT count(*) AS n FROM applied")).toBe(3);
    await operator.close();
  });
});

describe("retention", () => {
  it("prunes only events every cursor has passed and that are old enough, in batches", async () => {
    const events = await producer.publishMany(
      Array.from({ length: 30 }, () => ({ event_type: "credit.locked" as const, payload: lockedPayload() })),
    );
    const first = events[0]!.payload as { credit_reservation_id: string; lesson_id: string };
    await producer.publish({
      event_type: "credit.consumed",
      payload: {
        credit_reservation_id: first.credit_reservation_id,
        lesson_id: first.lesson_id,
        consumed_credits: 1,
        consumed_at: new Date().toISOString(),
      },
    });
    await consumer.start({ consumer: "coaching", pollIntervalMs: 20 });
    await until(async () => (await db.count("SELECT count(*) AS n FROM applied")) === 30);
    await consumer.stop();
    // a second consumer of credit.locked that is 10 events behind
    await db.pool.query(
      "INSERT INTO dispatcher_cursor (consumer, event_type, last_position) " +
        "SELECT 'warehouse', 'credit.locked', position FROM dispatcher_event WHERE event_id = $1",
      [events[19]!.event_id],
    );
    await db.pool.query("UPDATE dispatcher_event SET created_at = now() - interval '40 days'");
    await db.pool.query("UPDATE dispatcher_dedup SET delivered_at = now() - interval '40 days'");
    const result = await consumer.prune({ olderThan: "30d", batchSize: 7 });
    expect(result).toEqual({ events: 20, dedup: 30, deadLetters: 0 });
    const left = (await db.pool.query("SELECT event_id FROM dispatcher_event ORDER BY position")).rows.map((r) => r.event_id);
    expect(left).toEqual([...events.slice(20).map((e) => e.event_id), expect.stringMatching(/^evt_/)]);
    expect(await consumer.prune({ olderThan: "30d" })).toEqual({ events: 0, dedup: 0, deadLetters: 0 });
    expect(await caught(() => consumer.prune({ olderThan: "a month" }))).toMatchObject({ code: "INVALID_ARGUMENT", argument: "olderThan" });
  });
});
