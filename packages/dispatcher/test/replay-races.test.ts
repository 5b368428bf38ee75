import { describe, expect, it } from "vitest";
import { PermanentFailureError, createDispatcher } from "../src/index.js";
import { tablesFor } from "../src/config/index.js";
import { fromPgPool, type Database } from "../src/database/index.js";
import { DeadLetterService, waitForReplays } from "../src/dlq/index.js";
import type { StoredHandler } from "../src/consumer/index.js";
import { runOnce } from "../src/testing/index.js";
import { lockedPayload, useDispatcherDb } from "./helpers.js";

// A dead letter is read in one transaction and changed in another; a second replica of the consumer
// or an operator can act in between. Each replica below is a DeadLetterService owned by the consumer,
// as a running loop builds it; a hook runs the other actor just before a chosen statement, so each
// interleaving is exact.

const t = useDispatcherDb();
const tables = tablesFor("public");
const C = "replay_races";

/** The pool's Database, running `hook` (once) before the first statement whose text matches. */
function hooked(): { database: Database; before(match: RegExp, hook: () => Promise<unknown>): void } {
  const base = fromPgPool(t.db.pool, false);
  let pending: { match: RegExp; hook: () => Promise<unknown> } | undefined;
  const intercept = <Q extends Database["query"]>(query: Q): Q =>
    (async (text: string, values?: unknown[]) => {
      const armed = pending;
      if (armed?.match.test(text)) {
        pending = undefined;
        await armed.hook();
      }
      return query(text, values);
    }) as Q;
  const database: Database = {
    ...base,
    query: intercept(base.query),
    transaction: (fn, options) => base.transaction((q, raw, session) => fn({ query: intercept(q.query) }, raw, session), options),
  };
  return { database, before: (match, hook) => (pending = { match, hook }) };
}

let runs = 0;
let failing = true;
const handler: StoredHandler = async (event, ctx) => {
  runs += 1;
  if (failing) throw new Error("still broken");
  await ctx.tx.query("INSERT INTO applied (consumer, event_id, value) VALUES ($1, $2, 1)", [C, event.event_id]);
};
const owner = () => ({
  consumer: C,
  handlerTimeoutMs: 5000,
  handlersFor: (type: string) => (type === "credit.locked" ? [handler] : undefined),
});
const replica = (database: Database = fromPgPool(t.db.pool, false)) => new DeadLetterService(database, tables, owner);

/** One event of C dead-lettered and its replay requested by an operator; the letter as requested. */
async function requestedLetter() {
  await t.producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
  const consumer = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: t.db.pool });
  consumer.subscribe("credit.locked", () => {
    throw new PermanentFailureError("poisoned");
  });
  await runOnce(consumer, { consumer: C, retryDelaysMs: [] });
  await consumer.close();
  const [letter] = await t.producer.deadLetters.list(C);
  runs = 0;
  return t.producer.deadLetters.requestReplay(letter!.id, { requestedBy: "per_operator" });
}
const letterRow = async (id: string) =>
  (
    await t.db.pool.query(
      "SELECT attempts, resolved_at IS NOT NULL AS resolved, replay_requested_at IS NOT NULL AS requested FROM dispatcher_dead_letter WHERE id = $1",
      [id],
    )
  ).rows[0];

// The replay transaction's lock on the letter, and the failure update after a failed replay.
const LOCK_LETTER = /dispatcher_dead_letter" WHERE id = \$1 FOR UPDATE/;
const FAILED_REPLAY = /attempts = attempts \+ 1/;

describe("a requested replay with two replicas of the consumer", () => {
  it("performed (and failed) by one replica while the other had listed it: the other skips it; one handler run, one attempt", async () => {
    const letter = await requestedLetter();
    const b = hooked();
    failing = true;
    b.before(LOCK_LETTER, () => replica().replayRequested(C));
    const ofB = await replica(b.database).replayRequested(C);
    expect({ ofB, runs, letter: await letterRow(letter.id) }).toEqual({
      ofB: [],
      runs: 1,
      letter: { attempts: letter.attempts + 1, resolved: false, requested: false },
    });
  });

  it("performed (and resolved) by one replica while the other had listed it: the other skips it without an error", async () => {
    const letter = await requestedLetter();
    const b = hooked();
    failing = false;
    b.before(LOCK_LETTER, () => replica().replayRequested(C));
    const ofB = await replica(b.database).replayRequested(C);
    expect({ ofB, runs, letter: await letterRow(letter.id) }).toEqual({
      ofB: [],
      runs: 1,
      letter: { attempts: letter.attempts, resolved: true, requested: false },
    });
    expect(await t.db.count("SELECT count(*)::int AS n FROM applied")).toBe(1);
  });
});

describe("a requested replay whose letter is deleted while it fails (prune, cursor drop)", () => {
  it("is skipped: the replica's check goes on, no error", async () => {
    const letter = await requestedLetter();
    const a = hooked();
    failing = true;
    a.before(FAILED_REPLAY, () => t.db.pool.query("DELETE FROM dispatcher_dead_letter WHERE id = $1", [letter.id]));
    expect(await replica(a.database).replayRequested(C)).toEqual([]);
    expect(runs).toBe(1);
  });
});

describe("a replay requested while an earlier replay of the letter is failing", () => {
  it("is kept for the owner, and waitForReplays reports it only once performed", async () => {
    const first = await requestedLetter();
    const a = hooked();
    failing = true;
    // A's replay has failed and rolled back; before its failure update, an operator asks again.
    let second: Awaited<ReturnType<typeof requestedLetter>> | undefined;
    a.before(FAILED_REPLAY, async () => {
      second = await t.producer.deadLetters.requestReplay(first.id, { requestedBy: "per_second_operator" });
    });
    const [result] = await replica(a.database).replayRequested(C);
    expect(result?.outcome).toBe("failed");
    // The attempt that ran is counted; the second request stays.
    expect(await letterRow(first.id)).toEqual({ attempts: first.attempts + 1, resolved: false, requested: true });
    const waited = await waitForReplays(fromPgPool(t.db.pool, false), tables, [second!], { timeoutMs: 300, pollIntervalMs: 50 });
    expect(waited).toMatchObject({ performed: [], pending: [{ id: first.id }] });
    // The owner performs it: the handler runs again (fixed now), and the waiter sees it replayed.
    failing = false;
    const [performed] = await replica().replayRequested(C);
    expect({ outcome: performed?.outcome, runs }).toEqual({ outcome: "replayed", runs: 2 });
    const after = await waitForReplays(fromPgPool(t.db.pool, false), tables, [second!], { timeoutMs: 1000 });
    expect(after.performed.map((p) => p.outcome)).toEqual(["replayed"]);
  });
});
