import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createDispatcher, type Dispatcher, type Logger } from "../src/index.js";
import { caught, id, lockedPayload, testDb, until, type TestDb, reservedPayload } from "./helpers.js";

// Item 7 (a rewind never re-applies unless reprocess is confirmed) and item 9 (startFrom).
let db: TestDb;
let producer: Dispatcher;
const running: Dispatcher[] = [];

beforeAll(async () => {
  db = await testDb();
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.close()));
});
afterAll(async () => {
  await producer.close();
  await db.drop();
});

const reserved = () => ({
  event_type: "credit.reserved" as const,
  payload: reservedPayload(),
});
const locked = () => ({ event_type: "credit.locked" as const, payload: lockedPayload() });

type Calls = Record<string, string[]>;
const poison = new Set<string>();

/** A consumer whose handlers record each call and count each applied event in `applied.value`. */
async function startConsumer(
  consumer: string,
  types: Array<"credit.locked" | "credit.reserved">,
  options: { startFrom?: "earliest" | "now"; logger?: Logger } = {},
) {
  const calls: Calls = Object.fromEntries(types.map((t) => [t, []]));
  const d = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url, logger: options.logger });
  running.push(d);
  for (const type of types) {
    d.subscribe(type, async (event, ctx) => {
      calls[type]!.push(event.event_id);
      if (poison.has(event.event_id)) throw new Error("poison");
      await ctx.tx.query(
        "INSERT INTO applied (consumer, event_id, value) VALUES ($1, $2, 1) " +
          "ON CONFLICT (consumer, event_id) DO UPDATE SET value = applied.value + 1",
        [consumer, event.event_id],
      );
    });
  }
  await d.start({ consumer, pollIntervalMs: 20, batchSize: 1, retryDelaysMs: [], startFrom: options.startFrom });
  return { d, calls };
}

const caughtUp = (d: Dispatcher, consumer: string) =>
  until(async () => (await d.status(consumer)).every((s) => s.lagEvents === 0), 20_000, `${consumer} to catch up`);
const positionOf = async (eventId: string) =>
  Number((await db.pool.query("SELECT position FROM dispatcher_event WHERE event_id = $1", [eventId])).rows[0].position);
const applied = async (consumer: string) =>
  Object.fromEntries(
    (await db.pool.query("SELECT event_id, value FROM applied WHERE consumer = $1", [consumer])).rows.map((r) => [r.event_id, r.value]),
  );
const dedupRows = (consumer: string) => db.count("SELECT count(*) AS n FROM dispatcher_dedup WHERE consumer = $1", [consumer]);
const cursorOf = async (consumer: string, type: string) =>
  Number(
    (await db.pool.query("SELECT last_position FROM dispatcher_cursor WHERE consumer = $1 AND event_type = $2", [consumer, type])).rows[0]
      .last_position,
  );

describe("rewind (resetCursor)", () => {
  const C = "proj";
  let e: Array<{ event_id: string }>;
  let p: number[];

  it(
    "by default never re-applies: already-applied events are skipped as duplicates, " +
      "a dead-lettered one is applied, the cursor returns to the end",
    async () => {
      e = await producer.publishMany(Array.from({ length: 5 }, locked));
      poison.add(e[2]!.event_id);
      const first = await startConsumer(C, ["credit.locked"]);
      await until(async () => (await first.d.status(C))[0]?.activeDeadLetters === 1 && (await first.d.status(C))[0]?.lagEvents === 0);
      await first.d.stop();
      p = await Promise.all(e.map((x) => positionOf(x.event_id)));
      expect(first.calls["credit.locked"]).toEqual(e.map((x) => x.event_id));
      expect(await applied(C)).toEqual(Object.fromEntries([0, 1, 3, 4].map((i) => [e[i]!.event_id, 1])));
      poison.clear();

      const expected = { eventType: "credit.locked", from: p[4], position: p[1]! - 1, events: 4, willApply: 1, forgotten: 0 };
      const dry = await producer.resetCursor({ consumer: C, to: e[1]!.event_id, dryRun: true });
      expect(dry).toEqual({ reprocess: false, dryRun: true, cursors: [expected], forgotten: 0 });
      expect(await cursorOf(C, "credit.locked")).toBe(p[4]);
      const done = await producer.resetCursor({ consumer: C, to: e[1]!.event_id });
      expect(done).toEqual({ reprocess: false, dryRun: false, cursors: [expected], forgotten: 0 });
      expect([await cursorOf(C, "credit.locked"), await dedupRows(C)]).toEqual([p[1]! - 1, 4]);

      const again = await startConsumer(C, ["credit.locked"]);
      await caughtUp(again.d, C);
      await again.d.stop();
      expect(again.calls["credit.locked"]).toEqual([e[2]!.event_id]);
      expect(await applied(C)).toEqual(Object.fromEntries(e.map((x) => [x.event_id, 1])));
      expect(await cursorOf(C, "credit.locked")).toBe(p[4]);
    },
  );

  it("reprocess needs confirm (the consumer's name); then each rewound event is applied exactly once more", async () => {
    for (const confirm of [undefined, "Proj", "coaching"]) {
      const error = await caught(() => producer.resetCursor({ consumer: C, to: e[2]!.event_id, reprocess: true, confirm }));
      expect([error.name, error.code, error.message]).toEqual([
        "ReprocessNotConfirmedError",
        "REPROCESS_NOT_CONFIRMED",
        'reprocess applies the rewound events of "proj" again: pass confirm: "proj" to do it',
      ]);
    }
    expect((await caught(() => producer.resetCursor({ consumer: C, to: e[2]!.event_id, confirm: C }))).code).toBe("INVALID_ARGUMENT");
    expect([await cursorOf(C, "credit.locked"), await dedupRows(C)]).toEqual([p[4], 5]);

    const result = await producer.resetCursor({ consumer: C, to: e[2]!.event_id, reprocess: true, confirm: C });
    expect(result).toEqual({
      reprocess: true,
      dryRun: false,
      cursors: [{ eventType: "credit.locked", from: p[4], position: p[2]! - 1, events: 3, willApply: 3, forgotten: 3 }],
      forgotten: 3,
    });
    expect([await cursorOf(C, "credit.locked"), await dedupRows(C)]).toEqual([p[2]! - 1, 2]);
    const again = await startConsumer(C, ["credit.locked"]);
    await caughtUp(again.d, C);
    await again.d.stop();
    expect(again.calls["credit.locked"]).toEqual(e.slice(2).map((x) => x.event_id));
    expect(await applied(C)).toEqual(Object.fromEntries(e.map((x, i) => [x.event_id, i >= 2 ? 2 : 1])));
    expect([await cursorOf(C, "credit.locked"), await dedupRows(C)]).toEqual([p[4], 5]);
  });

  it("to a time: every event created from then on is rewound; a cursor never moves forward", async () => {
    // one hour apart, in position order (one publishMany stamps them within the same millisecond)
    await db.pool.query("UPDATE dispatcher_event SET created_at = timestamptz '2026-01-01T00:00:00Z' + position * interval '1 hour'");
    const created = new Date(Date.parse("2026-01-01T00:00:00Z") + p[3]! * 3_600_000);
    const dry = await producer.resetCursor({ consumer: C, to: created, dryRun: true, reprocess: true });
    expect(dry.cursors).toEqual([{ eventType: "credit.locked", from: p[4], position: p[3]! - 1, events: 2, willApply: 2, forgotten: 2 }]);
    expect(await producer.resetCursor({ consumer: C, to: new Date(Date.now() + 60_000) })).toEqual({
      reprocess: false,
      dryRun: false,
      cursors: [{ eventType: "credit.locked", from: p[4], position: p[4], events: 0, willApply: 0, forgotten: 0 }],
      forgotten: 0,
    });
    expect([await cursorOf(C, "credit.locked"), await dedupRows(C)]).toEqual([p[4], 5]);
  });

  it("relies on the dedup rows: once prune has deleted them, a rewind applies those events again", async () => {
    expect(await producer.prune({ olderThan: "3650d", dedupOlderThan: 0 })).toEqual({ events: 0, dedup: 5, deadLetters: 0 });
    const dry = await producer.resetCursor({ consumer: C, to: e[0]!.event_id, dryRun: true });
    expect(dry.cursors).toEqual([{ eventType: "credit.locked", from: p[4], position: p[0]! - 1, events: 5, willApply: 5, forgotten: 0 }]);
  });
});

describe("startFrom", () => {
  it("rejects anything but earliest or now", async () => {
    const d = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool });
    running.push(d);
    d.subscribe("credit.locked", () => undefined);
    const error = await caught(() => d.start({ consumer: "x", startFrom: "latest" as "now" }));
    expect([error.code, error.setting, error.message]).toEqual([
      "CONFIG_INVALID",
      "startFrom",
      'startFrom must be "earliest" or "now" (got "latest")',
    ]);
  });

  it(
    "after a prune: earliest gets the retained events only, now only those committed after start(); " +
      "status shows the earliest retained event",
    async () => {
      await db.pool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter, applied");
      const [a1, a2] = await producer.publishMany([locked(), locked()]);
      const early = await startConsumer("early", ["credit.locked"]);
      await caughtUp(early.d, "early");
      await early.d.stop();
      expect(early.calls["credit.locked"]).toEqual([a1!.event_id, a2!.event_id]);
      expect(await producer.prune({ olderThan: 0, dedupOlderThan: "30d" })).toEqual({ events: 2, dedup: 0, deadLetters: 0 });

      const a3 = await producer.publish(locked()); // committed before the starts, not numbered yet
      expect((await db.pool.query("SELECT position FROM dispatcher_event WHERE event_id = $1", [a3.event_id])).rows[0].position).toBeNull();
      const logs: Array<Record<string, unknown>> = [];
      const logger: Logger = {
        debug: () => undefined,
        info: (fields, message) => void logs.push({ ...fields, message }),
        warn: () => undefined,
        error: () => undefined,
      };
      const fromNow = await startConsumer("late-now", ["credit.locked"], { startFrom: "now", logger });
      const fromEarliest = await startConsumer("late-earliest", ["credit.locked"], { logger });
      const a4 = await producer.publish(locked());
      await caughtUp(fromEarliest.d, "late-earliest");
      await caughtUp(fromNow.d, "late-now");
      expect(fromEarliest.calls["credit.locked"]).toEqual([a3.event_id, a4.event_id]);
      expect(fromNow.calls["credit.locked"]).toEqual([a4.event_id]);
      const p3 = await positionOf(a3.event_id);
      expect(logs.filter((l) => l.message === "dispatcher cursor created")).toEqual([
        { consumer: "late-now", event_type: "credit.locked", start_from: "now", position: p3, message: "dispatcher cursor created" },
        {
          consumer: "late-earliest",
          event_type: "credit.locked",
          start_from: "earliest",
          position: 0,
          message: "dispatcher cursor created",
        },
      ]);
      const a3Created = (await db.pool.query("SELECT created_at FROM dispatcher_event WHERE event_id = $1", [a3.event_id])).rows[0]
        .created_at as Date;
      const started = { early: ["earliest", 0], "late-earliest": ["earliest", 0], "late-now": ["now", p3] } as const;
      for (const [consumer, [startFrom, startPosition]] of Object.entries(started)) {
        expect(await producer.status(consumer)).toMatchObject([
          { consumer, earliestRetainedPosition: p3, earliestRetainedAt: a3Created, startFrom, startPosition },
        ]);
      }
      // a restart never moves an existing cursor, whatever startFrom says
      await fromNow.d.stop();
      const a5 = await producer.publish(locked());
      const restarted = await startConsumer("late-now", ["credit.locked"], { startFrom: "now" });
      await caughtUp(restarted.d, "late-now");
      expect(restarted.calls["credit.locked"]).toEqual([a5.event_id]);
    },
  );

  it("a type added later to an existing consumer starts where startFrom says; its existing cursors stay", async () => {
    await db.pool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter, applied");
    const l1 = await producer.publish(locked());
    const first = await Promise.all(["grow-now", "grow-earliest"].map((c) => startConsumer(c, ["credit.locked"])));
    await Promise.all(first.map((f, i) => caughtUp(f.d, ["grow-now", "grow-earliest"][i]!)));
    await Promise.all(first.map((f) => f.d.stop()));
    expect(first.map((f) => f.calls["credit.locked"])).toEqual([[l1.event_id], [l1.event_id]]);

    const [r1, l2] = await producer.publishMany([reserved(), locked()]);
    const now = await startConsumer("grow-now", ["credit.locked", "credit.reserved"], { startFrom: "now" });
    const earliest = await startConsumer("grow-earliest", ["credit.locked", "credit.reserved"], { startFrom: "earliest" });
    const [r2, l3] = await producer.publishMany([reserved(), locked()]);
    await caughtUp(now.d, "grow-now");
    await caughtUp(earliest.d, "grow-earliest");
    expect(now.calls).toEqual({ "credit.locked": [l2!.event_id, l3!.event_id], "credit.reserved": [r2!.event_id] });
    expect(earliest.calls).toEqual({ "credit.locked": [l2!.event_id, l3!.event_id], "credit.reserved": [r1!.event_id, r2!.event_id] });
    // status shows where each cursor started: the first one as it was, the added one as this start chose
    expect((await producer.status("grow-now")).map((r) => [r.eventType, r.startFrom, r.startPosition])).toEqual([
      ["credit.locked", "earliest", 0],
      ["credit.reserved", "now", await positionOf(r1!.event_id)],
    ]);
    await now.d.stop();

    // a default rewind before the "now" start applies what that start skipped, and nothing twice
    const rewound = await producer.resetCursor({ consumer: "grow-now", to: new Date(0), eventType: "credit.reserved" });
    expect(rewound.cursors).toEqual([
      {
        eventType: "credit.reserved",
        from: await positionOf(r2!.event_id),
        position: (await positionOf(r1!.event_id)) - 1,
        events: 2,
        willApply: 1,
        forgotten: 0,
      },
    ]);
    const again = await startConsumer("grow-now", ["credit.locked", "credit.reserved"], { startFrom: "now" });
    await caughtUp(again.d, "grow-now");
    expect(again.calls).toEqual({ "credit.locked": [], "credit.reserved": [r1!.event_id] });
    expect(Object.values(await applied("grow-now"))).toEqual([1, 1, 1, 1, 1]);
  });
});
