import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@sguild/prisma-fragment/testing";
import { Progress } from "../src/cli/progress.js";
import { createDispatcher, type Dispatcher } from "../src/index.js";
import { id, lockedPayload, runCli, testDb, until, type TestDb, reservedPayload } from "./helpers.js";

// cursor drop, and the progress lines of prune and fanout-drain, as child processes.
const CLI = new URL("../bin/sguild-dispatcher.mjs", import.meta.url).pathname;
let db: TestDb;
let producer: Dispatcher;
let events: Array<{ event_id: string }>;

const run = (...args: string[]) => {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, DATABASE_URL: db.url } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
};
const runAsync = (...args: string[]) => runCli(db.url, ...args);

async function consume(consumer: string, failing?: string): Promise<Dispatcher> {
  const d = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
  d.subscribe("credit.locked", async (event, ctx) => {
    if (event.event_id === failing) throw new Error("cannot place lesson");
    await ctx.tx.query("INSERT INTO applied (consumer, event_id) VALUES ($1, $2)", [consumer, event.event_id]);
  });
  await d.start({ consumer, pollIntervalMs: 20, retryDelaysMs: [] });
  return d;
}

const rows = async (consumer: string) =>
  (
    await db.pool.query(
      `SELECT (SELECT count(*) FROM dispatcher_cursor WHERE consumer = $1)::int AS cursors,
    (SELECT count(*) FROM dispatcher_dedup WHERE consumer = $1)::int AS dedup,
    (SELECT count(*) FROM dispatcher_dead_letter WHERE consumer = $1)::int AS dead_letters`,
      [consumer],
    )
  ).rows[0];

beforeAll(async () => {
  db = await testDb();
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
  events = await producer.publishMany(
    Array.from({ length: 5 }, () => ({ event_type: "credit.locked" as const, payload: lockedPayload() })),
  );
  for (const [consumer, failing] of [
    ["coaching", undefined],
    ["scratch", events[1]!.event_id],
  ] as const) {
    const d = await consume(consumer, failing);
    await until(async () => (await db.count("SELECT last_position AS n FROM dispatcher_cursor WHERE consumer = $1", [consumer])) === 5);
    await d.close();
  }
  // a throwaway consumer that stopped early: its cursor at 2 keeps prune from deleting events 3 to 5
  await db.pool.query("UPDATE dispatcher_cursor SET last_position = 2 WHERE consumer = 'scratch'");
});
afterAll(async () => {
  await producer.close();
  await db.drop();
});

describe("sguild-dispatcher cursor drop", () => {
  it(
    "refuses without --yes, an unknown consumer and a running one; --dry-run changes nothing; " +
      "--yes deletes its cursors, dedup rows and dead letters",
    async () => {
      const prune = ["prune", "--older-than", "0s", "--dry-run"];
      expect(run(...prune).stdout).toBe("dry run, nothing deleted: would delete 2 events, 9 dedup rows, 0 resolved dead letters\n");
      const before = { coaching: { cursors: 1, dedup: 5, dead_letters: 0 }, scratch: { cursors: 1, dedup: 4, dead_letters: 1 } };
      const state = async () => ({ coaching: await rows("coaching"), scratch: await rows("scratch") });
      expect(await state()).toEqual(before);

      expect(run("cursor", "drop", "--consumer", "scratch")).toEqual({
        code: 2,
        stdout: "",
        stderr:
          'sguild-dispatcher: cursor drop deletes the cursors, dedup rows and dead letters of "scratch": ' +
          "pass --yes to do it, or --dry-run to see what it would do\n",
      });
      expect(run("cursor", "drop", "--consumer", "scratc", "--yes")).toEqual({
        code: 2,
        stdout: "",
        stderr: 'sguild-dispatcher: unknown consumer "scratc": no cursor or dead letter has that name (known: coaching, scratch)\n',
      });
      const listening = () =>
        db.count("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'sguild-dispatcher-listen:scratch'");
      const running = await consume("scratch");
      try {
        await until(async () => (await listening()) === 1);
        expect(await runAsync("cursor", "drop", "--consumer", "scratch", "--yes")).toEqual({
          code: 2,
          stdout: "",
          stderr: 'sguild-dispatcher: consumer "scratch" is running (1 live replica): stop it before dropping it\n',
        });
      } finally {
        await running.close();
      }
      await until(async () => (await listening()) === 0, 10_000, "the LISTEN session to end");
      // A loop that only polls has no LISTEN session: its heartbeat says it runs.
      const polling = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool });
      polling.subscribe("credit.locked", () => undefined);
      await polling.start({ consumer: "scratch", pollIntervalMs: 20, retryDelaysMs: [], listen: false });
      try {
        expect(await runAsync("cursor", "drop", "--consumer", "scratch", "--yes")).toEqual({
          code: 2,
          stdout: "",
          stderr: 'sguild-dispatcher: consumer "scratch" is running (1 live replica): stop it before dropping it\n',
        });
      } finally {
        await polling.close();
      }
      await db.pool.query("UPDATE dispatcher_cursor SET last_position = 2 WHERE consumer = 'scratch'");
      expect(await state()).toEqual(before);

      const table = ["EVENT TYPE     POSITION", "credit.locked  2"];
      expect(run("cursor", "drop", "--consumer", "scratch", "--dry-run")).toEqual({
        code: 0,
        stdout: [
          ...table,
          'dry run, nothing changed: would delete 1 cursors, 4 dedup rows, 1 dead letters (1 active) of "scratch"',
          "",
        ].join("\n"),
        stderr: "",
      });
      expect(JSON.parse(run("--json", "cursor", "drop", "--consumer", "scratch", "--dry-run").stdout)).toEqual({
        consumer: "scratch",
        dryRun: true,
        cursors: [{ eventType: "credit.locked", position: 2 }],
        dedup: 4,
        deadLetters: 1,
        activeDeadLetters: 1,
      });
      expect(await state()).toEqual(before);

      expect(run("cursor", "drop", "--consumer", "scratch", "--yes")).toEqual({
        code: 0,
        stdout: [...table, 'deleted 1 cursors, 4 dedup rows, 1 dead letters (1 active) of "scratch"', ""].join("\n"),
        stderr: "",
      });
      expect(await state()).toEqual({ ...before, scratch: { cursors: 0, dedup: 0, dead_letters: 0 } });
      // nothing pins the events any more
      expect(run(...prune).stdout).toBe("dry run, nothing deleted: would delete 5 events, 5 dedup rows, 0 resolved dead letters\n");
      const unknown = 'sguild-dispatcher: unknown consumer "scratch": no cursor or dead letter has that name (known: coaching)\n';
      expect(run("cursor", "drop", "--consumer", "scratch", "--yes")).toEqual({ code: 2, stdout: "", stderr: unknown });
      expect(run("status", "--consumer", "scratch")).toEqual({ code: 2, stdout: "", stderr: unknown });
    },
  );
});

describe("progress lines", () => {
  it("prune: one line per batch on stderr with --progress, none without it when stderr is not a terminal", () => {
    const prune = ["prune", "--older-than", "0s", "--batch-size", "2", "--yes"];
    expect(run(...prune, "--dry-run").stderr).toBe("sguild-dispatcher: option '--dry-run' cannot be used with option '--yes'\n");
    expect(run("--progress", ...prune)).toEqual({
      code: 0,
      stdout: "deleted 5 events, 5 dedup rows, 0 resolved dead letters\n",
      stderr: [
        "prune: 2 events deleted",
        "prune: 4 events deleted",
        "prune: 5 events deleted",
        "prune: 2 dedup rows deleted",
        "prune: 4 dedup rows deleted",
        "prune: 5 dedup rows deleted",
        "",
      ].join("\n"),
    });
    expect(run(...prune)).toEqual({ code: 0, stdout: "deleted 0 events, 0 dedup rows, 0 resolved dead letters\n", stderr: "" });
  });

  it("on a terminal: one line rewritten in place and cleared at the end; --no-progress silences it", () => {
    const written: string[] = [];
    const terminal = { isTTY: true, write: (text: string) => written.push(text) };
    const line = new Progress(terminal, undefined);
    line.update("prune: 2 events deleted");
    line.update("prune: 2 events deleted");
    line.update("prune: 4 events deleted");
    line.done();
    expect(written).toEqual(["\r\x1b[2Kprune: 2 events deleted", "\r\x1b[2Kprune: 4 events deleted", "\r\x1b[2K"]);
    const silenced = new Progress(terminal, false);
    silenced.update("x");
    silenced.done();
    expect([silenced.mode, new Progress({ write: () => true }, undefined).mode, new Progress({ write: () => true }, true).mode]).toEqual([
      "off",
      "off",
      "lines",
    ]);
    expect(written).toHaveLength(3);
  });

  it("fanout-drain: the undelivered count per destination until it is 0", async () => {
    const coaching: TestDatabase = await createTestDatabase();
    const dir = mkdtempSync(join(tmpdir(), "sguild-drain-"));
    try {
      const config = join(dir, "fanout.config.mjs");
      writeFileSync(
        config,
        `export default ${JSON.stringify({
          source: { producer: "revenue", tenantId: "tnt_sguild", databaseUrl: db.url },
          destinations: { coaching: { kind: "database", databaseUrl: coaching.url } },
        })};\n`,
      );
      await producer.publishMany(
        Array.from({ length: 12 }, () => ({
          event_type: "credit.reserved" as const,
          payload: reservedPayload(),
        })),
      );
      const out = await runAsync("--progress", "fanout-drain", "--config", config, "--timeout", "60s");
      expect([out.code, out.stdout]).toEqual([0, "DESTINATION  UNDELIVERED  PARKED (DEAD LETTERS)\ncoaching     0            0\n"]);
      const lines = out.stderr.split("\n");
      expect(lines.slice(-2)).toEqual(["fanout-drain: coaching 0 undelivered, 0 parked", ""]);
      for (const line of lines.slice(0, -1)) expect(line).toMatch(/^fanout-drain: coaching (\d+) undelivered, 0 parked$/);
      const counts = lines.slice(0, -1).map((l) => Number(/(\d+) undelivered/.exec(l)![1]));
      expect(counts).toEqual([...counts].sort((a, b) => b - a)); // never goes up
      expect(new Set(counts).size).toBe(counts.length); // a line only when it changed
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await coaching.drop();
    }
  });
});
