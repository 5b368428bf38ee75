import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDispatcher, DeadLetterService, fromPgPool, tablesFor, type DeadLetter, type Dispatcher } from "../src/index.js";
import { lockedPayload, runCli, testDb, until, type TestDb } from "./helpers.js";

// dlq replay --wait (the running owner performs it; the CLI prints its outcome) and --group, as child processes.
let db: TestDb;
let producer: Dispatcher;
let events: Array<{ event_id: string }>;
let ids: string[]; // ids[i]: the dead letter of events[i]
let lessonGroup: string; // fingerprint of "cannot place lesson les_..."
let seatGroup: string; // fingerprint of "TypeError: no seat"
const broken = new Set<string>();
const noSeat = new Set<string>();

// Async: the consumer under test runs in this process while the CLI waits for it.
const run = (...args: string[]) => runCli(db.url, ...args);

const letter = (id: string) => new DeadLetterService(fromPgPool(db.pool, false), tablesFor("public")).get(id);
const json = (d: DeadLetter) => JSON.parse(JSON.stringify(d));

async function startConsumer(): Promise<Dispatcher> {
  const consumer = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
  consumer.subscribe("credit.locked", async (event, ctx) => {
    if (noSeat.has(event.event_id)) throw new TypeError("no seat");
    if (broken.has(event.event_id)) throw new Error(`cannot place lesson ${event.payload.lesson_id}`);
    await ctx.tx.query("INSERT INTO applied (consumer, event_id) VALUES ('coaching', $1)", [event.event_id]);
  });
  await consumer.start({ consumer: "coaching", pollIntervalMs: 20, retryDelaysMs: [] });
  return consumer;
}

beforeAll(async () => {
  db = await testDb();
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
  events = await producer.publishMany(
    Array.from({ length: 8 }, () => ({ event_type: "credit.locked" as const, payload: lockedPayload() })),
  );
  for (const e of events.slice(1, 7)) broken.add(e.event_id);
  noSeat.add(events[7]!.event_id);
  const consumer = await startConsumer();
  await until(async () => (await db.count("SELECT count(*) AS n FROM dispatcher_dead_letter")) === 7);
  await consumer.close();
  const rows = (await db.pool.query("SELECT id, event_id, fingerprint FROM dispatcher_dead_letter")).rows;
  ids = events.map((e) => rows.find((r) => r.event_id === e.event_id)?.id);
  lessonGroup = rows.find((r) => r.id === ids[1])!.fingerprint;
  seatGroup = rows.find((r) => r.id === ids[7])!.fingerprint;
});
afterAll(async () => {
  await producer.close();
  await db.drop();
});

describe("sguild-dispatcher dlq replay", () => {
  it("refuses what it cannot do before asking anything", async () => {
    const usage = (message: string) => ({ code: 2, stdout: "", stderr: `sguild-dispatcher: ${message}\n` });
    expect(await run("dlq", "replay", "--by", "per_ops")).toEqual(
      usage("dlq replay: give a dead letter id or --group <fingerprint> (one of them)"),
    );
    expect(await run("dlq", "replay", ids[1]!, "--group", lessonGroup, "--by", "per_ops")).toEqual(
      usage("dlq replay: give a dead letter id or --group <fingerprint> (one of them)"),
    );
    expect(await run("dlq", "replay", ids[1]!, "--consumer", "coaching", "--by", "per_ops")).toEqual(
      usage("dlq replay: --consumer is read only with --group"),
    );
    expect(await run("dlq", "replay", "--group", "nope", "--by", "per_ops")).toEqual(
      usage('a fingerprint is 16 hex digits, as dlq list --group shows it (got "nope")'),
    );
    expect(await run("dlq", "replay", "--group", "0123456789abcdef", "--by", "per_ops")).toEqual(
      usage("no active dead letters with fingerprint 0123456789abcdef"),
    );
    expect(await run("dlq", "replay", "--group", lessonGroup, "--consumer", "sales", "--by", "per_ops")).toEqual(
      usage('unknown consumer "sales": no cursor or dead letter has that name (known: coaching)'),
    );
    expect(await run("dlq", "replay", ids[1]!, "--by", "per_ops", "--wait", "--timeout", "soon")).toEqual(
      usage(
        "--timeout must be a number with a unit ms, s, m, h or d (500ms, 45s, 90m, 12h, 30d, 1.5h) " +
          'or a plain number of milliseconds (got "soon")',
      ),
    );
    expect(await db.count("SELECT count(*) AS n FROM dispatcher_dead_letter WHERE replay_requested_at IS NOT NULL")).toBe(0);
  });

  it("--wait: the running consumer performs the replay and the CLI prints its outcome: replayed, already delivered, failed", async () => {
    const consumer = await startConsumer();
    try {
      broken.delete(events[1]!.event_id);
      expect(await run("dlq", "replay", ids[1]!, "--by", "per_ops", "--wait", "--timeout", "30s")).toEqual({
        code: 0,
        stdout: `replayed ${ids[1]}: consumer "coaching" handled it and resolved it\n`,
        stderr: "",
      });
      expect(await db.count("SELECT count(*) AS n FROM applied WHERE event_id = $1", [events[1]!.event_id])).toBe(1);

      // the consumer has events[2] already (its dedup row): resolved without running the handler
      await db.pool.query("INSERT INTO dispatcher_dedup (consumer, event_id) VALUES ('coaching', $1)", [events[2]!.event_id]);
      const already = await run("--json", "dlq", "replay", ids[2]!, "--by", "per_ops", "--wait");
      expect([already.code, already.stderr]).toEqual([0, ""]);
      expect(JSON.parse(already.stdout)).toEqual({ outcome: "already_delivered", deadLetter: json(await letter(ids[2]!)) });
      expect((await letter(ids[2]!)).resolutionNote).toBe("replay: the consumer already had this event");

      const failed = await run("--json", "dlq", "replay", ids[7]!, "--by", "per_ops", "--wait");
      expect([failed.code, failed.stderr]).toEqual([1, ""]);
      const after = await letter(ids[7]!);
      expect([after.attempts, after.resolvedAt, after.replayRequestedAt]).toEqual([2, null, null]);
      expect(JSON.parse(failed.stdout)).toEqual({ outcome: "failed", deadLetter: json(after) });
      expect(await run("dlq", "replay", ids[7]!, "--by", "per_ops", "--wait")).toEqual({
        code: 1,
        stdout: `replay of ${ids[7]} failed again (attempt 3): TypeError: no seat; it stays active\n`,
        stderr: "",
      });
    } finally {
      await consumer.close();
    }
  });

  it("--group without --wait asks the owner to replay every active letter of the fingerprint", async () => {
    const requested = await run("--json", "dlq", "replay", "--group", seatGroup, "--by", "per_ops");
    expect([requested.code, requested.stderr]).toEqual([0, ""]);
    const row = await letter(ids[7]!);
    expect(row.replayRequestedBy).toBe("per_ops");
    expect(JSON.parse(requested.stdout)).toEqual({ fingerprint: seatGroup, results: [{ outcome: "requested", deadLetter: json(row) }] });
    expect(await run("dlq", "replay", "--group", seatGroup, "--consumer", "coaching", "--by", "per_ops")).toEqual({
      code: 0,
      stdout: [
        "ID                                        CONSUMER  EVENT TYPE     OUTCOME    ATTEMPTS  ERROR",
        `${ids[7]}  coaching  credit.locked  requested  3         -`,
        `group ${seatGroup}: replay requested of consumer "coaching"; it replays them on its next cycle`,
        "",
      ].join("\n"),
      stderr: "",
    });
  });

  it("--group --wait: each letter's outcome, a progress line per performed replay, exit 1 when one failed again", async () => {
    noSeat.clear(); // the seat group, requested above, is replayed too once the consumer runs
    const consumer = await startConsumer();
    try {
      for (const e of events.slice(3, 6)) broken.delete(e.event_id);
      const out = await run("--progress", "dlq", "replay", "--group", lessonGroup, "--by", "per_ops", "--wait", "--timeout", "30s");
      const group = [3, 4, 5, 6].map((i) => ids[i]!);
      const six = await letter(ids[6]!);
      const error = `Error: ${six.errorMessage}`;
      expect([out.code, out.stdout]).toEqual([
        1,
        [
          (
            `ID                                        CONSUMER  EVENT TYPE     ` + `OUTCOME   ATTEMPTS  ${"ERROR".padEnd(error.length)}`
          ).trimEnd(),
          ...group.slice(0, 3).map((id) => `${id}  coaching  credit.locked  replayed  1         -`),
          `${ids[6]}  coaching  credit.locked  failed    2         ${error}`,
          `group ${lessonGroup}: 3 replayed, 1 failed`,
          "",
        ].join("\n"),
      ]);
      const lines = out.stderr.split("\n");
      expect(lines[0]).toBe('replay: waiting up to 30s for consumer "coaching" to replay 4 dead letters');
      expect(lines.slice(1, 5).map((l) => l.slice(0, "replay: 1/4 ".length))).toEqual([
        "replay: 1/4 ",
        "replay: 2/4 ",
        "replay: 3/4 ",
        "replay: 4/4 ",
      ]);
      expect(
        lines
          .slice(1, 5)
          .map((l) => l.slice("replay: 1/4 ".length))
          .sort(),
      ).toEqual([...group.slice(0, 3).map((id) => `${id} replayed`), `${ids[6]} failed`].sort());
      expect(lines.slice(5)).toEqual([""]);
      await until(async () => (await letter(ids[7]!)).resolvedAt !== null, 10_000, "the requested seat group replay");
    } finally {
      await consumer.close();
    }
  });

  it(
    "--wait --timeout: with no consumer running it says so and exits 1; " + "the request stays and the consumer performs it once it runs",
    async () => {
      const out = await run("dlq", "replay", ids[6]!, "--by", "per_ops", "--wait", "--timeout", "1s");
      expect(out).toEqual({
        code: 1,
        stdout: `replay of ${ids[6]} requested; consumer "coaching" replays it on its next cycle (see: dlq show ${ids[6]})\n`,
        stderr:
          `sguild-dispatcher: replay of ${ids[6]} was not performed within 1s: is consumer "coaching" running? ` +
          `The request stays: the consumer replays it once it runs\n`,
      });
      broken.delete(events[6]!.event_id);
      const consumer = await startConsumer();
      try {
        await until(async () => (await letter(ids[6]!)).resolvedAt !== null, 10_000, "the replay that stayed requested");
        expect((await letter(ids[6]!)).resolutionNote).toBe("replayed");
      } finally {
        await consumer.close();
      }
      expect(await run("dlq", "list")).toEqual({ code: 0, stdout: "no active dead letters\n", stderr: "" });
    },
  );
});
