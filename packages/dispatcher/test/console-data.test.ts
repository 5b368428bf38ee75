import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDispatcher, type Dispatcher, type EventEnvelope } from "../src/index.js";
import { runOnce } from "../src/testing/index.js";
import { asJson, consoleClient } from "./console-helpers.js";
import { id, lockedPayload, testDb, type TestDb, reservedPayload } from "./helpers.js";

// What the console reads and does beyond the consumers: dead letters and their groups, events,
// one event's deliveries, a correlation id's flow and the tail.

let db: TestDb;
let producer: Dispatcher;
let consumer: Dispatcher;
/** Event ids whose handler throws RangeError (one fingerprint whatever the id), and TypeError. */
const slotGone = new Set<string>();
const badPayload = new Set<string>();
/** Fail only for this consumer (all when unset). */
let failFor: string | undefined;
const seen: string[] = [];

beforeAll(async () => {
  db = await testDb();
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
  consumer = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
  consumer.subscribe("credit.locked", async (event, ctx) => {
    if (failFor === undefined || failFor === ctx.consumer) {
      if (slotGone.has(event.event_id)) throw new RangeError(`slot for ${event.payload.lesson_id} is gone`);
      if (badPayload.has(event.event_id)) throw new TypeError("locked_credits is not a number");
    }
    seen.push(event.event_id);
  });
});
afterAll(async () => {
  await consumer.close();
  await producer.close();
  await db.drop();
});

const locked = (extras: { subject?: string; correlation_id?: string } = {}) => ({
  event_type: "credit.locked" as const,
  payload: lockedPayload(),
  ...extras,
});
const reserved = (extras: { subject?: string; correlation_id?: string } = {}) => ({
  event_type: "credit.reserved" as const,
  payload: reservedPayload(),
  ...extras,
});
const ids = (rows: Array<{ id?: string; eventId?: string; event_id?: string }>) => rows.map((r) => r.id ?? r.eventId ?? r.event_id);
const sequence = () => db.pool.query("SELECT dispatcher_sequence(5000)");

describe("dead letters", () => {
  let client: ReturnType<typeof consoleClient>;
  let events: EventEnvelope[];
  /** Letter ids by consumer, oldest first: [0..2] slot gone (fingerprint f1), [3] bad payload (f2). */
  const letters: Record<string, string[]> = {};
  let f1: string;
  let f2: string;

  beforeAll(async () => {
    await db.pool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter");
    events = await producer.publishMany([locked(), locked(), locked(), locked()]);
    for (const e of events.slice(0, 3)) slotGone.add(e.event_id);
    badPayload.add(events[3]!.event_id);
    await runOnce(consumer, { consumer: "coaching", retryDelaysMs: [] });
    await runOnce(consumer, { consumer: "audit", retryDelaysMs: [] });
    for (const name of ["audit", "coaching"]) {
      letters[name] = (
        await db.pool.query("SELECT id FROM dispatcher_dead_letter WHERE consumer = $1 ORDER BY event_position", [name])
      ).rows.map((r) => r.id);
    }
    const fingerprints = await db.pool.query("SELECT DISTINCT error_class, fingerprint FROM dispatcher_dead_letter ORDER BY error_class");
    [f1, f2] = [
      fingerprints.rows.find((r) => r.error_class === "RangeError").fingerprint,
      fingerprints.rows.find((r) => r.error_class === "TypeError").fingerprint,
    ];
    client = consoleClient(consumer);
  });

  it("groups, largest first; a list by consumer and fingerprint without stacks; one letter with its stack", async () => {
    const groups = await client.get("dead-letters/groups");
    expect(groups.body.map((g: any) => [g.consumer, g.fingerprint, g.errorClass, g.count, g.eventTypes])).toEqual([
      ["audit", f1, "RangeError", 3, ["credit.locked"]],
      ["coaching", f1, "RangeError", 3, ["credit.locked"]],
      ["audit", f2, "TypeError", 1, ["credit.locked"]],
      ["coaching", f2, "TypeError", 1, ["credit.locked"]],
    ]);
    expect(groups.body).toEqual(asJson(await consumer.deadLetters.groups()));
    expect((await client.get("dead-letters/groups?consumer=coaching")).body.map((g: any) => g.fingerprint)).toEqual([f1, f2]);

    const list = await client.get(`dead-letters?consumer=coaching&fingerprint=${f1}`);
    expect(ids(list.body)).toEqual([...letters["coaching"]!.slice(0, 3)].reverse());
    const stored = asJson(await consumer.deadLetters.get(letters["coaching"]![2]!));
    const { errorStack, ...withoutStack } = stored;
    expect(list.body[0]).toEqual(withoutStack);
    expect(errorStack).toMatch(/^RangeError: slot for les_/);
    expect(ids((await client.get("dead-letters")).body)).toEqual([...letters["coaching"]!, ...letters["audit"]!].reverse());
    expect(ids((await client.get("dead-letters?limit=2")).body)).toEqual([letters["audit"]![3], letters["audit"]![2]]);
    expect(ids((await client.get(`dead-letters?fingerprint=${f2}`)).body)).toEqual([letters["audit"]![3], letters["coaching"]![3]]);

    const one = await client.get(`dead-letters/${letters["coaching"]![2]}`);
    expect(one.body).toEqual(stored);
  });

  it("group replay: the running consumer's letters with its handlers here, the others requested of their consumer", async () => {
    slotGone.delete(events[0]!.event_id);
    slotGone.delete(events[1]!.event_id);
    seen.length = 0;
    await consumer.start({ consumer: "coaching", pollIntervalMs: 50 });
    try {
      const { status, body } = await client.post(`dead-letters/groups/${f1}/replay`, { by: "per_ops" });
      expect(status).toBe(200);
      const [c0, c1, c2] = letters["coaching"]!;
      const [a0, a1, a2] = letters["audit"]!;
      expect(body.outcomes.map((o: any) => [o.outcome, o.deadLetter.id])).toEqual([
        ["replayed", c0],
        ["replayed", c1],
        ["failed", c2],
        ["requested", a0],
        ["requested", a1],
        ["requested", a2],
      ]);
      expect(
        body.outcomes.map((o: any) => [
          o.deadLetter.resolvedBy,
          o.deadLetter.resolutionNote,
          o.deadLetter.replayRequestedBy,
          o.deadLetter.attempts,
        ]),
      ).toEqual([
        ["per_ops", "replayed", null, 1],
        ["per_ops", "replayed", null, 1],
        [null, null, null, 2],
        [null, null, "per_ops", 1],
        [null, null, "per_ops", 1],
        [null, null, "per_ops", 1],
      ]);
      expect(body.outcomes.every((o: any) => !("errorStack" in o.deadLetter))).toBe(true);
      expect(seen).toEqual([events[0]!.event_id, events[1]!.event_id]);
    } finally {
      await consumer.stop();
    }
  });

  it("replay without the consumer running here: requested (202 for one letter); one consumer's group only", async () => {
    const group = await client.post(`dead-letters/groups/${f2}/replay`, { by: "per_lead", consumer: "coaching" });
    expect(group.body.outcomes.map((o: any) => [o.outcome, o.deadLetter.id, o.deadLetter.replayRequestedBy])).toEqual([
      ["requested", letters["coaching"]![3], "per_lead"],
    ]);
    expect(
      (await db.pool.query("SELECT replay_requested_by FROM dispatcher_dead_letter WHERE id = $1", [letters["audit"]![3]])).rows,
    ).toEqual([{ replay_requested_by: null }]);
    const one = await client.post(`dead-letters/${letters["audit"]![3]}/replay`, { by: "per_lead" });
    expect([
      one.status,
      one.body.outcome,
      one.body.deadLetter.id,
      one.body.deadLetter.replayRequestedBy,
      "errorStack" in one.body.deadLetter,
    ]).toEqual([202, "requested", letters["audit"]![3], "per_lead", false]);
  });

  it("resolve one (409 the second time), then a group of one consumer, then the rest of the group", async () => {
    const one = await client.post(`dead-letters/${letters["audit"]![3]}/resolve`, { by: "per_ops", note: "payload fixed upstream" });
    expect([
      one.status,
      one.body.id,
      one.body.resolvedBy,
      one.body.resolutionNote,
      one.body.replayRequestedAt,
      "errorStack" in one.body,
    ]).toEqual([200, letters["audit"]![3], "per_ops", "payload fixed upstream", null, false]);
    const again = await client.post(`dead-letters/${letters["audit"]![3]}/resolve`, { by: "per_ops" });
    expect([again.status, again.body.error.code]).toEqual([409, "DEAD_LETTER_ALREADY_RESOLVED"]);

    const audit = await client.post(`dead-letters/groups/${f1}/resolve`, { by: "per_ops", note: "lessons deleted", consumer: "audit" });
    expect(audit.body.resolved.map((d: any) => [d.id, d.resolvedBy, d.resolutionNote, d.replayRequestedAt, d.replayRequestedBy])).toEqual(
      letters["audit"]!.slice(0, 3).map((letter) => [letter, "per_ops", "lessons deleted", null, null]),
    );
    const rest = await client.post(`dead-letters/groups/${f1}/resolve`, { by: "per_lead" });
    expect(rest.body.resolved.map((d: any) => [d.id, d.resolvedBy, d.resolutionNote])).toEqual([
      [letters["coaching"]![2], "per_lead", null],
    ]);
    expect((await client.post(`dead-letters/groups/${f1}/resolve`, { by: "per_lead" })).body).toEqual({ resolved: [] });
    expect((await client.get("dead-letters/groups")).body.map((g: any) => [g.consumer, g.fingerprint, g.count])).toEqual([
      ["coaching", f2, 1],
    ]);
    expect(ids((await client.get(`dead-letters?fingerprint=${f1}&includeResolved=true`)).body)).toEqual(
      [...letters["coaching"]!.slice(0, 3), ...letters["audit"]!.slice(0, 3)].reverse(),
    );
  });
});

describe("events, deliveries, flows and the tail", () => {
  let client: ReturnType<typeof consoleClient>;
  const correlation = id("evt");
  const subject = id("per");
  let a: EventEnvelope, b: EventEnvelope, c: EventEnvelope, d: EventEnvelope, x: EventEnvelope, y: EventEnvelope;
  const pause = () => new Promise((r) => setTimeout(r, 5));

  beforeAll(async () => {
    await db.pool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter");
    slotGone.clear();
    badPayload.clear();
    a = await producer.publish(locked({ subject, correlation_id: correlation }));
    await pause();
    b = await producer.publish(reserved({ correlation_id: correlation }));
    await pause();
    c = await producer.publish(locked());
    await pause();
    d = await producer.publish(reserved({ subject }));
    await pause();
    // x is inserted before y but committed after y was numbered: y comes first in delivery order.
    const tx = await db.pool.connect();
    try {
      await tx.query("BEGIN");
      x = await producer.publish(locked({ correlation_id: correlation }), { tx });
      await pause();
      y = await producer.publish(locked({ correlation_id: correlation }));
      await sequence();
      await tx.query("COMMIT");
    } finally {
      tx.release();
    }
    await sequence();
    consumer.subscribe("credit.reserved", async (event, ctx) => {
      if (ctx.consumer === "coaching" && event.event_id === b.event_id) throw new RangeError("no account");
    });
    await runOnce(consumer, { consumer: "coaching", retryDelaysMs: [] });
    await runOnce(consumer, { consumer: "audit", retryDelaysMs: [] });
    client = consoleClient(consumer);
  });

  /** The EventRow of an event, from its stored row. */
  const rowOf = async (e: EventEnvelope) => {
    const r = (await db.pool.query("SELECT position::int AS position, created_at FROM dispatcher_event WHERE event_id = $1", [e.event_id]))
      .rows[0];
    return {
      eventId: e.event_id,
      eventType: e.event_type,
      schemaVersion: e.schema_version,
      tenantId: "tnt_sguild",
      producer: "revenue",
      occurredAt: e.occurred_at,
      subject: e.subject ?? null,
      actor: e.actor ?? null,
      correlationId: e.correlation_id ?? null,
      payload: e.payload,
      position: r.position,
      createdAt: r.created_at.toISOString(),
    };
  };
  const search = async (query: string) => ids((await client.get(`events${query}`)).body);

  it("search by each filter, newest first", async () => {
    const all = await client.get("events");
    expect(all.body).toEqual(await Promise.all([y, x, d, c, b, a].map(rowOf)));
    expect(await search(`?eventId=${a.event_id}`)).toEqual([a.event_id]);
    expect(await search("?eventType=credit.reserved")).toEqual([d.event_id, b.event_id]);
    expect(await search(`?subject=${subject}`)).toEqual([d.event_id, a.event_id]);
    expect(await search(`?correlationId=${correlation}`)).toEqual([y.event_id, x.event_id, b.event_id, a.event_id]);
    expect(await search(`?correlationId=${correlation}&eventType=credit.locked&subject=${subject}`)).toEqual([a.event_id]);
    const [from, to] = [(await rowOf(b)).createdAt, (await rowOf(d)).createdAt];
    expect(await search(`?from=${from}&to=${to}`)).toEqual([c.event_id, b.event_id]);
    expect(await search(`?from=${to}`)).toEqual([y.event_id, x.event_id, d.event_id]);
    expect(await search("?limit=2")).toEqual([y.event_id, x.event_id]);
    expect(await search(`?subject=${id("per")}`)).toEqual([]);
  });

  it("one event: the consumers that have it and those that dead-lettered it", async () => {
    const letter = (await db.pool.query("SELECT id FROM dispatcher_dead_letter WHERE event_id = $1", [b.event_id])).rows[0].id;
    expect((await client.get(`events/${b.event_id}`)).body).toEqual({
      event: await rowOf(b),
      deliveredTo: ["audit"],
      deadLettered: [{ consumer: "coaching", deadLetterId: letter, resolvedAt: null }],
    });
    expect((await client.get(`events/${a.event_id}`)).body).toEqual({
      event: await rowOf(a),
      deliveredTo: ["audit", "coaching"],
      deadLettered: [],
    });
    await consumer.deadLetters.resolve(letter, { resolvedBy: "per_ops" });
    const resolvedAt = (await db.pool.query("SELECT resolved_at FROM dispatcher_dead_letter WHERE id = $1", [letter])).rows[0].resolved_at;
    expect((await client.get(`events/${b.event_id}`)).body.deadLettered).toEqual([
      { consumer: "coaching", deadLetterId: letter, resolvedAt: resolvedAt.toISOString() },
    ]);
  });

  it("a flow in delivery (position) order, not insertion order", async () => {
    const flow = await client.get(`flows/${correlation}`);
    expect(flow.body).toEqual({ correlationId: correlation, events: await Promise.all([a, b, y, x].map(rowOf)) });
    expect((await rowOf(y)).position).toBeLessThan((await rowOf(x)).position);
    expect((await client.get(`flows/${id("evt")}`)).body.events).toEqual([]);
  });

  it("the tail: nothing at first, then what is numbered after a position, 200 at most, of one type when asked", async () => {
    const newest = (await rowOf(x)).position;
    expect((await client.get("tail")).body).toEqual({ events: [], position: newest });
    const more = await producer.publishMany([locked(), reserved(), locked()]);
    expect((await client.get(`tail?after=${newest}`)).body).toEqual({ events: [], position: newest });
    await sequence();
    const tail = await client.get(`tail?after=${newest}`);
    expect(tail.body).toEqual({ events: await Promise.all(more.map(rowOf)), position: newest + 3 });
    expect((await client.get(`tail?after=${newest}&eventType=credit.reserved`)).body).toEqual({
      events: [await rowOf(more[1]!)],
      position: newest + 2,
    });
    expect((await client.get("tail")).body).toEqual({ events: [], position: newest + 3 });

    const many = await producer.publishMany(Array.from({ length: 205 }, () => locked()));
    await sequence();
    const first = await client.get(`tail?after=${newest + 3}`);
    expect([ids(first.body.events), first.body.position]).toEqual([ids(many.slice(0, 200)), newest + 203]);
    const next = await client.get(`tail?after=${first.body.position}`);
    expect([ids(next.body.events), next.body.position]).toEqual([ids(many.slice(200)), newest + 208]);
  });
});
