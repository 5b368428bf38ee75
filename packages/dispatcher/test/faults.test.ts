/**
 * The fault matrix of docs/delivery-guarantees.md, delivery side: each test injects one fault on
 * a real PostgreSQL and counts the ledger exactly (applied once, nothing lost, nothing stuck).
 */
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDispatcher, type Dispatcher, type HandlerContext } from "../src/index.js";
import { id, lockedPayload, testDb, until, type TestDb } from "./helpers.js";

let db: TestDb;
let producer: Dispatcher;
const running: Dispatcher[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  db = await testDb();
  await db.pool.query(`CREATE TABLE deferred_ref (id text PRIMARY KEY,
    reservation text REFERENCES credit_reservation (id) DEFERRABLE INITIALLY DEFERRED)`);
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
});
beforeEach(async () => {
  await db.pool.query(
    "TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter, applied, deferred_ref, credit_reservation",
  );
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.close()));
});
afterAll(async () => {
  await producer.close();
  await db.drop();
});

type Client = "pg" | "prisma";

function consumer(client: Client, extra: { databaseUrl?: string } = {}): Dispatcher {
  const database = client === "pg" ? { pool: db.pool } : { prismaClient: db.prisma };
  const d = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", databaseUrl: db.url, ...database, ...extra });
  running.push(d);
  return d;
}

/** A write through ctx.tx, on either client. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- either client
async function apply(ctx: HandlerContext<any>, eventId: string): Promise<void> {
  if (typeof ctx.tx.query === "function")
    await ctx.tx.query("INSERT INTO applied (consumer, event_id) VALUES ($1, $2)", [ctx.consumer, eventId]);
  else await ctx.tx.applied.create({ data: { consumer: ctx.consumer, eventId } });
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- either client
async function sql(ctx: HandlerContext<any>, text: string): Promise<Record<string, unknown>[]> {
  if (typeof ctx.tx.query === "function") return (await ctx.tx.query(text)).rows;
  return ctx.tx.$queryRawUnsafe(text);
}

const applied = (eventId: string) => db.count("SELECT count(*) AS n FROM applied WHERE event_id = $1", [eventId]);
const cursor = async (eventType: string) =>
  (
    await db.pool.query(
      "SELECT failed_attempts, last_error, last_position::int AS last_position FROM dispatcher_cursor WHERE event_type = $1",
      [eventType],
    )
  ).rows[0];
const publishLocked = async () => (await producer.publish({ event_type: "credit.locked", payload: lockedPayload() })).event_id;
const backendAlive = async (pid: number) => (await db.count("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1", [pid])) === 1;

describe.each<Client>(["pg", "prisma"])("handler timeouts (%s)", (client) => {
  it.each(["js", "database"])(
    "a handler that outlives its timeout (sleeping in %s) cannot write: refused, applied once by the retry",
    async (where) => {
      const lateErrors: unknown[] = [];
      const pids: number[] = [];
      const c = consumer(client);
      c.subscribe("credit.locked", async (event, ctx) => {
        const [row] = await sql(ctx, "SELECT pg_backend_pid() AS pid");
        pids.push(Number(row!["pid"]));
        if (ctx.attempt === 1) {
          if (where === "js") await sleep(800);
          else await sql(ctx, "SELECT pg_sleep(0.8)").catch(() => undefined);
          try {
            await apply(ctx, event.event_id);
          } catch (error) {
            lateErrors.push(error);
            throw error;
          }
          return;
        }
        await apply(ctx, event.event_id);
      });
      const eventId = await publishLocked();
      await c.start({ consumer: "coaching", pollIntervalMs: 20, handlerTimeoutMs: 300, retryDelaysMs: [10, 10] });
      await until(async () => lateErrors.length === 1, 10_000, "the late write to be refused");
      await until(async () => (await applied(eventId)) === 1, 10_000, "the retry to apply it");
      await sleep(300);
      expect(await applied(eventId)).toBe(1);
      expect((lateErrors[0] as { code: string }).code).toBe("TRANSACTION_CLOSED");
      expect((await cursor("credit.locked")).failed_attempts).toBe(0);
      // The timed-out attempt's connection is gone, not back in a pool.
      expect(await backendAlive(pids[0]!)).toBe(false);
      expect(pids[1]).not.toBe(pids[0]);
    },
  );

  it("a handler waiting on a row lock is cancelled at its timeout: failure recorded, other types flow, stop() is prompt", async () => {
    await db.pool.query("INSERT INTO credit_reservation (id, state) VALUES ('crr_locked', 'reserved')");
    const blocker = await db.pool.connect();
    await blocker.query("BEGIN");
    await blocker.query("SELECT * FROM credit_reservation WHERE id = 'crr_locked' FOR UPDATE");
    const reserved: string[] = [];
    const c = consumer(client);
    c.subscribe("credit.locked", async (event, ctx) => {
      await sql(ctx, "UPDATE credit_reservation SET state = 'locked' WHERE id = 'crr_locked'");
      await apply(ctx, event.event_id);
    });
    c.subscribe("credit.forfeited", (event) => void reserved.push(event.event_id));
    const locked = await publishLocked();
    await c.start({ consumer: "coaching", pollIntervalMs: 20, handlerTimeoutMs: 300, retryDelaysMs: [60_000] });
    const released = await producer.publish({
      event_type: "credit.forfeited",
      payload: {
        credit_reservation_id: id("crr"),
        lesson_id: id("les"),
        forfeited_credits: 1,
        forfeiture_reason: "no_show",
        forfeited_at: new Date().toISOString(),
      },
    });
    await until(
      async () => reserved.length === 1 && (await cursor("credit.locked"))?.failed_attempts === 1,
      10_000,
      "failure recorded and the other type delivered",
    );
    expect(reserved).toEqual([released.event_id]);
    expect((await cursor("credit.locked")).last_error).toMatch(/did not finish within 300 ms/);
    // The abandoned transaction holds no lock: the row is still ours alone, and nothing waits on it.
    expect(await db.count("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).toBe(0);
    const stopping = Date.now();
    await c.stop();
    expect(Date.now() - stopping).toBeLessThan(300 + 1000);
    await blocker.query("ROLLBACK");
    blocker.release();
    expect(await applied(locked)).toBe(0);
  });

  it("stop() during a handler blocked on a lock resolves within handlerTimeoutMs plus a small bound", async () => {
    await db.pool.query("INSERT INTO credit_reservation (id, state) VALUES ('crr_locked', 'reserved')");
    const blocker = await db.pool.connect();
    await blocker.query("BEGIN");
    await blocker.query("SELECT * FROM credit_reservation WHERE id = 'crr_locked' FOR UPDATE");
    let entered = 0;
    const c = consumer(client);
    c.subscribe("credit.locked", async (_event, ctx) => {
      entered += 1;
      await sql(ctx, "UPDATE credit_reservation SET state = 'locked' WHERE id = 'crr_locked'");
    });
    await publishLocked();
    await c.start({ consumer: "coaching", pollIntervalMs: 20, handlerTimeoutMs: 400, retryDelaysMs: [60_000] });
    await until(() => entered === 1, 10_000, "the handler to block");
    const stopping = Date.now();
    await c.stop();
    const took = Date.now() - stopping;
    await blocker.query("ROLLBACK");
    blocker.release();
    expect(took).toBeLessThan(400 + 1000);
    expect((await cursor("credit.locked")).failed_attempts).toBe(1);
  });
});

describe("handler timeouts (pg's callback API)", () => {
  it("a late write in pg's callback form gets TRANSACTION_CLOSED in its callback, and no unhandled rejection", async () => {
    const results: string[] = [];
    const c = consumer("pg");
    c.subscribe("credit.locked", async (event, ctx) => {
      if (ctx.attempt === 1) await sleep(600);
      await new Promise<void>((resolve) =>
        ctx.tx.query(
          "INSERT INTO applied (consumer, event_id) VALUES ($1, $2)",
          [ctx.consumer, event.event_id],
          (err: { code?: string } | null) => {
            results.push(err?.code ?? "ok");
            resolve();
          },
        ),
      );
    });
    const eventId = await publishLocked();
    await c.start({ consumer: "coaching", pollIntervalMs: 20, handlerTimeoutMs: 300, retryDelaysMs: [10] });
    await until(() => results.length === 2, 10_000, "the late write's callback and the retry");
    await sleep(200);
    expect(results.sort()).toEqual(["TRANSACTION_CLOSED", "ok"]);
    expect(await applied(eventId)).toBe(1);
  });
});

describe.each<Client>(["pg", "prisma"])("commit-time failures are failed attempts (%s)", (client) => {
  it.each(["a deferred constraint at COMMIT", "a beforeCommit hook"])(
    "%s waiting on a lock is bounded by handlerTimeoutMs: failure recorded, other types flow, stop() is prompt",
    async (kind) => {
      await db.pool.query("INSERT INTO credit_reservation (id, state) VALUES ('crr_locked', 'reserved')");
      const blocker = await db.pool.connect();
      await blocker.query("BEGIN");
      await blocker.query("SELECT * FROM credit_reservation WHERE id = 'crr_locked' FOR UPDATE");
      const others: string[] = [];
      let returned = 0;
      const c = consumer(client);
      c.subscribe("credit.locked", async (event, ctx) => {
        if (kind === "a beforeCommit hook")
          ctx.beforeCommit(
            "touch",
            async () => void (await sql(ctx, "UPDATE credit_reservation SET state = 'locked' WHERE id = 'crr_locked'")),
          );
        // its key check waits at COMMIT
        else await sql(ctx, `INSERT INTO deferred_ref (id, reservation) VALUES ('${event.event_id}', 'crr_locked')`);
        returned += 1;
      });
      c.subscribe("credit.forfeited", (event) => void others.push(event.event_id));
      const locked = await publishLocked();
      await c.start({ consumer: "coaching", pollIntervalMs: 20, handlerTimeoutMs: 300, retryDelaysMs: [60_000] });
      const other = await producer.publish({
        event_type: "credit.forfeited",
        payload: {
          credit_reservation_id: id("crr"),
          lesson_id: id("les"),
          forfeited_credits: 1,
          forfeiture_reason: "no_show",
          forfeited_at: new Date().toISOString(),
        },
      });
      await until(
        async () => others.length === 1 && (await cursor("credit.locked"))?.failed_attempts === 1,
        10_000,
        "failure recorded and the other type delivered",
      );
      expect([returned, others]).toEqual([1, [other.event_id]]);
      expect((await cursor("credit.locked")).last_error).toBe(
        "the delivery transaction did not commit within 300 ms (a beforeCommit hook or COMMIT waited)",
      );
      expect(await db.count("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).toBe(0);
      const stopping = Date.now();
      await c.stop();
      expect(Date.now() - stopping).toBeLessThan(300 + 1000);
      await blocker.query("ROLLBACK");
      blocker.release();
      expect(await db.count("SELECT count(*) AS n FROM deferred_ref")).toBe(0);
      expect(await applied(locked)).toBe(0);
    },
  );

  it("a handler that swallows a database error (25P02) is retried, then dead-lettered; the type flows on", async () => {
    const c = consumer(client);
    const poison = new Set<string>();
    c.subscribe("credit.locked", async (event, ctx) => {
      if (poison.has(event.event_id)) await sql(ctx, "SELECT 1 / 0").catch(() => undefined);
      await apply(ctx, event.event_id).catch(() => undefined);
    });
    const first = await publishLocked();
    const bad = await publishLocked();
    poison.add(bad);
    const after = [await publishLocked(), await publishLocked()];
    await c.start({ consumer: "coaching", pollIntervalMs: 20, retryDelaysMs: [10, 10] });
    await until(async () => (await applied(after[1]!)) === 1, 15_000, "the events after the poisoned one");
    const letters = (await db.pool.query("SELECT event_id, attempts, error_class, error_message FROM dispatcher_dead_letter")).rows;
    // pg: COMMIT answers ROLLBACK; Prisma: the statement before its COMMIT fails with 25P02.
    const message =
      client === "pg"
        ? "the transaction was rolled back at COMMIT: a statement in it had failed"
        : expect.stringMatching(
            new RegExp(
              "^the delivery transaction did not commit: .*" +
                "current transaction is aborted, commands ignored until end of transaction block`?$",
            ),
          );
    expect(letters).toEqual([{ event_id: bad, attempts: 3, error_class: "CommitFailedError", error_message: message }]);
    for (const e of [first, ...after]) expect(await applied(e)).toBe(1);
    expect(await applied(bad)).toBe(0);
    expect(await db.count("SELECT count(*) AS n FROM dispatcher_dedup WHERE event_id = $1", [bad])).toBe(0);
  });

  it("a deferred constraint failing at COMMIT is retried with the delays, then dead-lettered; the batch's others apply once", async () => {
    const c = consumer(client);
    const poison = new Set<string>();
    c.subscribe("credit.locked", async (event, ctx) => {
      const target = poison.has(event.event_id) ? "crr_missing" : null;
      await sql(ctx, `INSERT INTO deferred_ref (id, reservation) VALUES ('${event.event_id}', ${target ? `'${target}'` : "NULL"})`);
      await apply(ctx, event.event_id);
    });
    const events: string[] = [];
    for (let i = 0; i < 5; i += 1) events.push(await publishLocked());
    poison.add(events[2]!);
    await c.start({ consumer: "coaching", pollIntervalMs: 20, retryDelaysMs: [10, 10] });
    await until(async () => (await db.count("SELECT count(*) AS n FROM dispatcher_dead_letter")) === 1, 15_000, "the dead letter");
    await until(async () => (await applied(events[4]!)) === 1, 10_000, "the last event");
    const [letter] = (await db.pool.query("SELECT event_id, attempts, error_class, error_message FROM dispatcher_dead_letter")).rows;
    expect([letter.event_id, letter.attempts, letter.error_class]).toEqual([events[2], 3, "CommitFailedError"]);
    expect(letter.error_message).toMatch(
      client === "pg" ? /violates foreign key constraint "deferred_ref_reservation_fkey"/ : /ForeignKeyConstraintViolation/,
    );
    expect(await db.count("SELECT count(*) AS n FROM applied")).toBe(4);
    for (const e of events) expect(await applied(e)).toBe(e === events[2] ? 0 : 1);
    expect((await cursor("credit.locked")).failed_attempts).toBe(0);
  });
});

describe.each<Client>(["pg", "prisma"])("a dropped connection (%s)", (client) => {
  it("terminating the delivery connection mid-handler fails the attempt and it is retried; the process lives", async () => {
    const pids: number[] = [];
    const c = consumer(client);
    c.subscribe("credit.locked", async (event, ctx) => {
      const [row] = await sql(ctx, "SELECT pg_backend_pid() AS pid");
      pids.push(Number(row!["pid"]));
      if (ctx.attempt === 1) await sleep(400);
      await apply(ctx, event.event_id);
    });
    const eventId = await publishLocked();
    await c.start({ consumer: "coaching", pollIntervalMs: 20, retryDelaysMs: [10] });
    await until(() => pids.length === 1, 10_000, "the handler");
    await db.pool.query("SELECT pg_terminate_backend($1)", [pids[0]]);
    await until(async () => (await applied(eventId)) === 1, 10_000, "the retry");
    await sleep(200);
    expect(await applied(eventId)).toBe(1);
    expect(pids.length).toBe(2);
  });
});

describe("a dropped connection on the pool the dispatcher opens itself, and on LISTEN", () => {
  it("every connection of the consumer terminated mid-handler: no crash, the event is applied once", async () => {
    const victim = `${db.url}${db.url.includes("?") ? "&" : "?"}application_name=victim`;
    let calls = 0;
    const c = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", databaseUrl: victim });
    running.push(c);
    c.subscribe("credit.locked", async (event, ctx) => {
      calls += 1;
      if (calls === 1) await sleep(400);
      await apply(ctx, event.event_id);
    });
    const eventId = await publishLocked();
    await c.start({ consumer: "coaching", pollIntervalMs: 20, retryDelaysMs: [10], listenReconnectDelaysMs: [50] });
    await until(() => calls === 1, 10_000, "the handler");
    const killed = await db.count(
      "SELECT count(*) AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'victim') t",
    );
    expect(killed).toBeGreaterThanOrEqual(2); // the delivery connection and LISTEN
    await until(async () => (await applied(eventId)) === 1, 10_000, "the retry");
    const second = await publishLocked();
    await until(async () => (await applied(second)) === 1, 10_000, "a later event");
    expect(await db.count("SELECT count(*) AS n FROM applied")).toBe(2);
  });
});

describe("dead-letter replay", () => {
  async function deadLetter(c: Dispatcher, name: string, failing: Set<string>): Promise<{ letterId: string; eventId: string }> {
    const eventId = await publishLocked();
    failing.add(eventId);
    await c.start({ consumer: name, pollIntervalMs: 20, retryDelaysMs: [] });
    await until(
      async () => (await db.count("SELECT count(*) AS n FROM dispatcher_dead_letter WHERE consumer = $1", [name])) === 1,
      10_000,
      "the letter",
    );
    const { rows } = await db.pool.query("SELECT id FROM dispatcher_dead_letter WHERE consumer = $1", [name]);
    return { letterId: rows[0].id, eventId };
  }

  it("a process running c1 that replays c2's letter only requests it; c2's own loop replays it with c2's handler", async () => {
    const failing = new Set<string>();
    const ran: string[] = [];
    const c2 = consumer("pg");
    c2.subscribe("credit.locked", async (event, ctx) => {
      if (failing.has(event.event_id)) throw new Error("not yet");
      ran.push(ctx.consumer);
      await apply(ctx, event.event_id);
    });
    const { letterId, eventId } = await deadLetter(c2, "c2", failing);
    await c2.stop();
    const c1 = consumer("pg");
    c1.subscribe("credit.locked", async (event, ctx) => {
      ran.push(ctx.consumer);
      await apply(ctx, event.event_id);
    });
    await c1.start({ consumer: "c1", pollIntervalMs: 20 });
    await until(async () => (await applied(eventId)) === 1, 10_000, "c1's own delivery");
    failing.clear();
    const result = await c1.deadLetters.replay(letterId, { replayedBy: "per_ops" });
    expect([result.outcome, result.deadLetter.resolvedAt, result.deadLetter.replayRequestedBy]).toEqual(["requested", null, "per_ops"]);
    expect(await db.count("SELECT count(*) AS n FROM dispatcher_dedup WHERE consumer = 'c2'")).toBe(0);
    expect(ran).toEqual(["c1"]);
    await c2.start({ consumer: "c2", pollIntervalMs: 20 });
    await until(async () => (await c2.deadLetters.get(letterId)).resolvedAt !== null, 10_000, "c2 to replay it");
    expect(ran).toEqual(["c1", "c2"]);
    expect((await db.pool.query("SELECT consumer FROM applied WHERE event_id = $1 ORDER BY consumer", [eventId])).rows).toEqual([
      { consumer: "c1" },
      { consumer: "c2" },
    ]);
    expect((await c2.deadLetters.get(letterId)).resolutionNote).toBe("replayed");
  });

  it.each(["replay first", "delivery first"])(
    "a replay racing a rewound delivery of the same event applies it once (%s)",
    async (order) => {
      const failing = new Set<string>();
      let calls = 0;
      const c = consumer("pg");
      c.subscribe("credit.locked", async (event, ctx) => {
        if (failing.has(event.event_id)) throw new Error("not yet");
        calls += 1;
        await sleep(300); // both transactions in flight at once
        await ctx.tx.query(
          "INSERT INTO applied (consumer, event_id, value) VALUES ($1, $2, 1) " +
            "ON CONFLICT (consumer, event_id) DO UPDATE SET value = applied.value + 1",
          [ctx.consumer, event.event_id],
        );
      });
      const { letterId, eventId } = await deadLetter(c, "coaching", failing);
      failing.clear();
      const rewind = () => db.pool.query("UPDATE dispatcher_cursor SET last_position = 0 WHERE consumer = 'coaching'");
      let result;
      if (order === "replay first") {
        const replaying = c.deadLetters.replay(letterId, { replayedBy: "per_ops" });
        await until(() => calls === 1, 5000, "the replay's handler");
        await rewind();
        result = await replaying;
      } else {
        await rewind();
        await until(() => calls === 1, 5000, "the delivery's handler");
        result = await c.deadLetters.replay(letterId, { replayedBy: "per_ops" });
      }
      await until(async () => (await cursor("credit.locked")).last_position > 0, 5000, "the cursor to pass it again");
      await sleep(200);
      expect((await db.pool.query("SELECT value FROM applied WHERE event_id = $1", [eventId])).rows).toEqual([{ value: 1 }]);
      expect(calls).toBe(1);
      expect(result.outcome).toBe(order === "replay first" ? "replayed" : "already_delivered");
    },
  );
});

describe("pool errors", () => {
  it("a pool passed in without an error listener gets one: an idle connection's loss does not crash", async () => {
    const pool = new pg.Pool({ connectionString: `${db.url}${db.url.includes("?") ? "&" : "?"}application_name=idle_victim`, max: 2 });
    const d = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool });
    await d.publish({ event_type: "credit.locked", payload: lockedPayload() });
    expect(pool.listenerCount("error")).toBe(1);
    await db.pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'idle_victim'");
    await sleep(100);
    await d.publish({ event_type: "credit.locked", payload: lockedPayload() });
    expect(await db.count("SELECT count(*) AS n FROM dispatcher_event")).toBe(2);
    await pool.end();
  });
});
