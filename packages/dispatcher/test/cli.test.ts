import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDispatcher, DeadLetterService, fromPgPool, tablesFor, type DeadLetter, type Dispatcher } from "../src/index.js";
import { lockedPayload, testDb, until, type TestDb } from "./helpers.js";

const CLI = new URL("../bin/sguild-dispatcher.mjs", import.meta.url).pathname;
let db: TestDb;
let producer: Dispatcher;
let deadLetterId: string;
let events: Array<{ event_id: string }>;

/** A dead letter as --json prints it: the DeadLetter fields, camelCase, dates as ISO strings. */
const json = (d: DeadLetter) => JSON.parse(JSON.stringify(d));
const deadLetterRow = async (id: string) => new DeadLetterService(fromPgPool(db.pool, false), tablesFor("public")).get(id);

const run = (...args: string[]) => {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, DATABASE_URL: db.url } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
};

beforeAll(async () => {
  db = await testDb();
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
  events = await producer.publishMany(
    Array.from({ length: 5 }, () => ({ event_type: "credit.locked" as const, payload: lockedPayload() })),
  );
  const consumer = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
  consumer.subscribe("credit.locked", async (event, ctx) => {
    if (event.event_id === events[4]!.event_id) throw new Error("cannot place lesson");
    await ctx.tx.query("INSERT INTO applied (consumer, event_id) VALUES ('coaching', $1)", [event.event_id]);
  });
  await consumer.start({ consumer: "coaching", pollIntervalMs: 20, retryDelaysMs: [] });
  await until(async () => (await db.count("SELECT count(*) AS n FROM dispatcher_dead_letter")) === 1);
  await consumer.close();
  deadLetterId = (await db.pool.query("SELECT id FROM dispatcher_dead_letter")).rows[0].id;
});
afterAll(async () => {
  await producer.close();
  await db.drop();
});

describe("sguild-dispatcher", () => {
  it("status: a readable table and --json", () => {
    const text = run("status");
    expect(text.code).toBe(0);
    expect(text.stdout.split("\n")[0]).toMatch(
      new RegExp(
        "^CONSUMER\\s+EVENT TYPE\\s+POSITION\\s+STARTED\\s+LAG \\(EVENTS\\)\\s+LAG \\(S\\)\\s+" +
          "LAST DELIVERY\\s+RETRYING\\s+DEAD LETTERS\\s+EARLIEST RETAINED$",
      ),
    );
    expect(text.stdout.split("\n")[1]).toMatch(/^coaching\s+credit\.locked\s+5\s+earliest at 0\s+0\s+0\.0\s+\S+Z\s+-\s+1\s+1 \(\S+Z\)$/);
    const json = JSON.parse(run("status", "--json").stdout);
    expect(json).toMatchObject([
      {
        consumer: "coaching",
        eventType: "credit.locked",
        position: 5,
        lagEvents: 0,
        activeDeadLetters: 1,
        earliestRetainedPosition: 1,
        startFrom: "earliest",
        startPosition: 0,
      },
    ]);
  });

  it(
    "dlq list (every consumer's, or one's; an unknown consumer is said unknown), " +
      "show with labels, replay request, resolve; camelCase JSON",
    async () => {
      const letter = await deadLetterRow(deadLetterId);
      const s = (d: Date | null) => (d ? d.toISOString().replace(/\.\d{3}Z$/, "Z") : "-");
      const row = `${deadLetterId}  coaching  credit.locked  Error: cannot place lesson  1         ${s(letter.lastFailedAt)}  -`;
      const header =
        "ID                                        CONSUMER  EVENT TYPE     " +
        "ERROR                       ATTEMPTS  LAST FAILED           RESOLVED";
      expect(run("dlq", "list")).toEqual({ code: 0, stdout: `${header}\n${row}\n`, stderr: "" });
      expect(run("dlq", "list", "--consumer", "coaching").stdout).toBe(`${header}\n${row}\n`);
      expect(JSON.parse(run("--json", "dlq", "list").stdout)).toEqual([json(letter)]);
      const unknown = run("dlq", "list", "--consumer", "coachin");
      expect(unknown).toEqual({
        code: 2,
        stdout: "",
        stderr: 'sguild-dispatcher: unknown consumer "coachin": no cursor or dead letter has that name (known: coaching)\n',
      });
      expect(run("dlq", "list", "--consumer", "coachin", "--group").stderr).toBe(unknown.stderr);
      expect(run("status", "--consumer", "coachin").stderr).toBe(unknown.stderr);
      expect(JSON.parse(run("--json", "dlq", "list", "--group").stdout)).toEqual([
        {
          consumer: "coaching",
          fingerprint: letter.fingerprint,
          errorClass: "Error",
          sampleMessage: "cannot place lesson",
          eventTypes: ["credit.locked"],
          count: 1,
          firstFailedAt: letter.firstFailedAt.toISOString(),
          lastFailedAt: letter.lastFailedAt.toISOString(),
        },
      ]);
      const show = run("dlq", "show", deadLetterId);
      expect(show).toEqual({
        code: 0,
        stderr: "",
        stdout: [
          `id: ${deadLetterId}`,
          "consumer: coaching",
          "event type: credit.locked",
          `event id: ${events[4]!.event_id}`,
          "error: Error: cannot place lesson",
          `fingerprint: ${letter.fingerprint}`,
          "attempts: 1",
          `first failed: ${s(letter.firstFailedAt)}`,
          `last failed: ${s(letter.lastFailedAt)}`,
          "resolved: no",
          "replay requested: no",
          "stack:",
          letter.errorStack!.replace(/^/gm, "  "),
          "envelope:",
          JSON.stringify(letter.envelope, null, 2).replace(/^/gm, "  "),
          "",
        ].join("\n"),
      });
      expect(JSON.parse(run("--json", "dlq", "show", deadLetterId).stdout)).toEqual(json(letter));
      const replay = run("dlq", "replay", deadLetterId, "--by", "per_ops");
      expect(replay.stdout).toBe(
        `replay of ${deadLetterId} requested; consumer "coaching" replays it on its next cycle (see: dlq show ${deadLetterId})\n`,
      );
      const requested = await deadLetterRow(deadLetterId);
      expect(requested.replayRequestedBy).toBe("per_ops");
      const replayJson = JSON.parse(run("--json", "dlq", "replay", deadLetterId, "--by", "per_ops").stdout);
      expect(replayJson).toEqual({ outcome: "requested", deadLetter: json(await deadLetterRow(deadLetterId)) });
      expect(Object.keys(replayJson.deadLetter)).toEqual([
        "id",
        "consumer",
        "eventId",
        "eventType",
        "envelope",
        "errorClass",
        "errorMessage",
        "errorStack",
        "fingerprint",
        "attempts",
        "firstFailedAt",
        "lastFailedAt",
        "createdAt",
        "resolvedAt",
        "resolvedBy",
        "resolutionNote",
        "replayRequestedAt",
        "replayRequestedBy",
      ]);
      expect(run("dlq", "show", deadLetterId).stdout).toContain(
        `\nreplay requested: ${s((await deadLetterRow(deadLetterId)).replayRequestedAt)} by per_ops\n`,
      );
      expect(run("dlq", "resolve", deadLetterId, "--by", "per_ops", "--note", "lesson cancelled").stdout).toBe(
        `resolved ${deadLetterId} by per_ops\n`,
      );
      const resolved = await deadLetterRow(deadLetterId);
      expect(run("dlq", "show", deadLetterId).stdout).toContain(
        `\nresolved: ${s(resolved.resolvedAt)} by per_ops (lesson cancelled)\nreplay requested: no\n`,
      );
      expect(JSON.parse(run("--json", "dlq", "show", deadLetterId).stdout)).toEqual(json(resolved));
      const again = run("dlq", "resolve", deadLetterId, "--by", "per_ops");
      expect([again.code, again.stderr]).toEqual([
        2,
        expect.stringMatching(/^sguild-dispatcher: dead letter dlq_.* was already resolved at .* by per_ops\n$/),
      ]);
      expect(run("dlq", "list", "--consumer", "coaching").stdout).toBe("no active dead letters for coaching\n");
      expect(run("dlq", "list").stdout).toBe("no active dead letters\n");
      expect(JSON.parse(run("--json", "dlq", "list", "--include-resolved").stdout)).toEqual([json(resolved)]);
    },
  );

  const state = async () =>
    (
      await db.pool.query(`SELECT (SELECT last_position FROM dispatcher_cursor WHERE consumer = 'coaching')::int AS cursor,
      (SELECT count(*) FROM dispatcher_dedup)::int AS dedup, (SELECT count(*) FROM dispatcher_event)::int AS events,
      (SELECT count(*) FROM dispatcher_dead_letter)::int AS dead_letters`)
    ).rows[0];
  const refusal = (what: string) => `sguild-dispatcher: ${what}: pass --yes to do it, or --dry-run to see what it would do\n`;

  it(
    "cursor reset refuses without --yes and --dry-run writes nothing; " +
      "by default a rewind keeps the dedup rows, --reprocess deletes them",
    async () => {
      const to = ["cursor", "reset", "--consumer", "coaching", "--to", events[2]!.event_id];
      const before = { cursor: 5, dedup: 4, events: 5, dead_letters: 1 };
      expect(await state()).toEqual(before);
      const refused = run(...to);
      expect([refused.code, refused.stdout, refused.stderr]).toEqual([2, "", refusal('cursor reset rewinds "coaching"')]);
      const refusedReprocess = run(...to, "--reprocess");
      expect([refusedReprocess.code, refusedReprocess.stderr]).toEqual([
        2,
        refusal('cursor reset --reprocess rewinds "coaching" and applies those events again'),
      ]);
      const both = run(...to, "--yes", "--dry-run");
      expect([both.code, both.stderr]).toEqual([2, "sguild-dispatcher: option '--dry-run' cannot be used with option '--yes'\n"]);
      const dry = run(...to, "--dry-run");
      expect([dry.code, dry.stdout]).toEqual([
        0,
        [
          "EVENT TYPE     FROM  TO  EVENTS REWOUND  TO APPLY  DEDUP ROWS DELETED",
          "credit.locked  5     2   3               1         0",
          "dry run, nothing changed: would rewind 3 events, 1 of them to be applied",
          "",
        ].join("\n"),
      ]);
      expect(JSON.parse(run("--json", ...to, "--reprocess", "--dry-run").stdout)).toEqual({
        reprocess: true,
        dryRun: true,
        cursors: [{ eventType: "credit.locked", from: 5, position: 2, events: 3, willApply: 3, forgotten: 2 }],
        forgotten: 2,
      });
      expect(await state()).toEqual(before);

      // events[4] was dead-lettered, never applied: it is the one event a plain rewind applies
      const done = run(...to, "--yes");
      expect([done.code, done.stdout]).toEqual([
        0,
        [
          "EVENT TYPE     FROM  TO  EVENTS REWOUND  TO APPLY  DEDUP ROWS DELETED",
          "credit.locked  5     2   3               1         0",
          "rewound 3 events, 1 of them to be applied; the others were applied already and are skipped (--reprocess applies them again)",
          "",
        ].join("\n"),
      ]);
      expect(await state()).toEqual({ ...before, cursor: 2 });
      const byTime = JSON.parse(
        run("--json", "cursor", "reset", "--consumer", "coaching", "--to", "2000-01-01T00:00:00Z", "--reprocess", "--yes").stdout,
      );
      expect(byTime).toEqual({
        reprocess: true,
        dryRun: false,
        cursors: [{ eventType: "credit.locked", from: 2, position: 0, events: 2, willApply: 2, forgotten: 4 }],
        forgotten: 4,
      });
      expect(await state()).toEqual({ ...before, cursor: 0, dedup: 0 });
    },
  );

  it("prune refuses without --yes, --dry-run counts what would go and deletes nothing, --yes deletes exactly that", async () => {
    await db.pool.query("UPDATE dispatcher_cursor SET last_position = 3");
    await db.pool.query(
      "INSERT INTO dispatcher_dedup (consumer, event_id) SELECT 'coaching', event_id FROM dispatcher_event WHERE position <= 2",
    );
    const before = { cursor: 3, dedup: 2, events: 5, dead_letters: 1 };
    expect(await state()).toEqual(before);
    const prune = ["prune", "--older-than", "0s", "--resolved-dead-letters-older-than", "0s"];
    const refused = run(...prune);
    expect([refused.code, refused.stdout, refused.stderr]).toEqual([2, "", refusal("prune deletes rows")]);
    expect(await state()).toEqual(before);
    expect(run(...prune, "--dry-run")).toEqual({
      code: 0,
      stdout: "dry run, nothing deleted: would delete 3 events, 2 dedup rows, 1 resolved dead letters\n",
      stderr: "",
    });
    expect(JSON.parse(run("--json", ...prune, "--dry-run").stdout)).toEqual({ dryRun: true, events: 3, dedup: 2, deadLetters: 1 });
    expect(await state()).toEqual(before);
    expect(JSON.parse(run("--json", ...prune, "--yes").stdout)).toEqual({ dryRun: false, events: 3, dedup: 2, deadLetters: 1 });
    expect(await state()).toEqual({ cursor: 3, dedup: 0, events: 2, dead_letters: 0 });
    expect(run(...prune, "--yes").stdout).toBe("deleted 0 events, 0 dedup rows, 0 resolved dead letters\n");
  });

  it("prune --older-than and the other windows accept every form the message names, and refuse others with that message", async () => {
    await db.pool.query(
      "INSERT INTO dispatcher_dedup (consumer, event_id, delivered_at) " +
        "VALUES ('coaching', 'evt_ten_minutes_old', now() - interval '10 minutes')",
    );
    // one dedup row, 10 minutes old: a window shorter than that takes it, a longer one does not
    const dedupWithin = (form: string) => {
      const out = run(
        "--json",
        "prune",
        "--older-than",
        form,
        "--dedup-older-than",
        form,
        "--resolved-dead-letters-older-than",
        form,
        "--dry-run",
      );
      return out.code === 0 ? JSON.parse(out.stdout).dedup : out;
    };
    const forms = {
      "500ms": 1,
      "45s": 1,
      "9m": 1,
      "11m": 0,
      "0.1h": 1,
      "0.2h": 0,
      "1h": 0,
      "1d": 0,
      "30d": 0,
      "5000": 1,
      "700000": 0,
      " 9m ": 1,
    };
    expect(Object.fromEntries(Object.keys(forms).map((form) => [form, dedupWithin(form)]))).toEqual(forms);
    const message = (flag: string, got: string) =>
      `sguild-dispatcher: ${flag} must be a number with a unit ms, s, m, h or d (500ms, 45s, 90m, 12h, 30d, 1.5h) ` +
      `or a plain number of milliseconds (got ${JSON.stringify(got)})\n`;
    for (const bad of ["30 days", "1w", "-1d", "1e3", ""]) {
      expect(run("prune", "--older-than", bad, "--dry-run")).toEqual({ code: 2, stdout: "", stderr: message("--older-than", bad) });
    }
    expect(run("prune", "--dedup-older-than", "a month", "--yes").stderr).toBe(message("--dedup-older-than", "a month"));
    expect(run("prune", "--resolved-dead-letters-older-than", "90 d", "--yes").stderr).toBe(
      message("--resolved-dead-letters-older-than", "90 d"),
    );
    expect(run("prune", "--batch-size", "0", "--yes")).toEqual({
      code: 2,
      stdout: "",
      stderr: 'sguild-dispatcher: --batch-size must be a positive integer (got "0")\n',
    });
    expect(await db.count("SELECT count(*) AS n FROM dispatcher_dedup")).toBe(1);
    await db.pool.query("DELETE FROM dispatcher_dedup");
  });

  it("tail follows new events live", async () => {
    const child = spawn(process.execPath, [CLI, "tail", "--type", "credit.locked"], { env: { ...process.env, DATABASE_URL: db.url } });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    await until(() => err.includes("following new events of credit.locked"), 10_000, "tail to start");
    const e = await producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
    await until(() => out.includes(e.event_id), 10_000, "the event on the tail");
    expect(out).not.toContain(events[0]!.event_id);
    child.kill("SIGINT");
    await new Promise((r) => child.once("exit", r));
    expect(out.trim().split("\n")).toHaveLength(1);
    expect(out).toMatch(new RegExp(`^\\S+Z  credit\\.locked  ${e.event_id}  revenue  -  \\{`));

    const jsonChild = spawn(process.execPath, [CLI, "--json", "tail"], { env: { ...process.env, DATABASE_URL: db.url } });
    let jsonOut = "";
    let jsonErr = "";
    jsonChild.stdout.on("data", (c: Buffer) => (jsonOut += c.toString()));
    jsonChild.stderr.on("data", (c: Buffer) => (jsonErr += c.toString()));
    await until(() => jsonErr.includes("following new events"), 10_000, "tail --json to start");
    const f = await producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
    await until(() => jsonOut.includes("\n"), 10_000, "the event on tail --json");
    jsonChild.kill("SIGINT");
    await new Promise((r) => jsonChild.once("exit", r));
    const stored = (
      await db.pool.query("SELECT position::int AS position, occurred_at, payload FROM dispatcher_event WHERE event_id = $1", [f.event_id])
    ).rows[0];
    expect(jsonOut.split("\n").map((line) => (line ? JSON.parse(line) : line))).toEqual([
      {
        position: stored.position,
        eventId: f.event_id,
        eventType: "credit.locked",
        producer: "revenue",
        subject: null,
        occurredAt: new Date(stored.occurred_at).toISOString(),
        payload: stored.payload,
      },
      "",
    ]);
  });

  it("bad flags and an unreachable database exit 2 with a clear message and no stack", () => {
    const bad = run("status", "--bogus");
    expect([bad.code, bad.stderr]).toEqual([2, "sguild-dispatcher: unknown option '--bogus'\n"]);
    const missing = run("cursor", "drop", "--yes");
    expect([missing.code, missing.stderr]).toEqual([2, "sguild-dispatcher: required option '--consumer <name>' not specified\n"]);
    const version = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version;
    expect(run("--version")).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
    expect(run("-V").stdout).toBe(`${version}\n`);
    const down = spawnSync(process.execPath, [CLI, "--database-url", "postgres://nobody:x@127.0.0.1:1/none", "status"], {
      encoding: "utf8",
    });
    expect(down.status).toBe(2);
    expect(down.stderr).toMatch(/^sguild-dispatcher: cannot reach the database: .*ECONNREFUSED.*\n$/);
    expect(down.stderr).not.toMatch(/\n\s+at /);
    const badId = run("dlq", "show", "nope");
    expect([badId.code, badId.stderr]).toEqual([2, 'sguild-dispatcher: dead letter id must look like dlq_<UUID> (got "nope")\n']);
  });
});
