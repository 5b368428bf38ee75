import type { Tables } from "../config/index.js";
import { DEAD_LETTER_COLUMNS, toDeadLetter, type DeadLetter, type DeadLetterRow } from "../dlq/dead-letter.js";
import type { ReplayResult } from "../dlq/index.js";
import { DeadLetterAlreadyResolvedError, NoHandlerError } from "../errors/index.js";
import { DEFAULTS } from "../config/defaults.js";
import type { ConsoleContext } from "./context.js";

/** A dead letter as every answer but its details page shows it: without `errorStack` (it names files). */
export type DeadLetterView = Omit<DeadLetter, "errorStack">;

export interface ReplayOutcome {
  outcome: ReplayResult["outcome"];
  deadLetter: DeadLetterView;
}

export const withoutStack = (d: DeadLetter): DeadLetterView => {
  const { errorStack: _stack, ...rest } = d;
  return rest;
};

// Newest first, of one consumer and one fingerprint when given.
const listSql = (t: Tables) => `SELECT ${DEAD_LETTER_COLUMNS} FROM ${t.deadLetter}
  WHERE ($1::text IS NULL OR consumer = $1) AND ($2::text IS NULL OR fingerprint = $2) AND ($3::boolean OR resolved_at IS NULL)
  ORDER BY created_at DESC, id DESC LIMIT $4::int`;
const activeOfGroupSql = (t: Tables) => `SELECT id, consumer FROM ${t.deadLetter}
  WHERE fingerprint = $1 AND resolved_at IS NULL AND ($2::text IS NULL OR consumer = $2) ORDER BY created_at, id`;
// Resolves the whole group in one statement (as resolve() does one letter: a pending replay request is dropped).
const resolveGroupSql = (t: Tables) => `UPDATE ${t.deadLetter} SET resolved_at = now(), resolved_by = $2, resolution_note = $3,
    replay_requested_at = NULL, replay_requested_by = NULL
  WHERE fingerprint = $1 AND resolved_at IS NULL AND ($4::text IS NULL OR consumer = $4) RETURNING ${DEAD_LETTER_COLUMNS}`;

const oldestFirst = (a: DeadLetter, b: DeadLetter) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id);

export async function listDeadLetters(
  { database, tables }: ConsoleContext,
  query: { consumer?: string; fingerprint?: string; includeResolved?: boolean; limit?: number },
): Promise<DeadLetterView[]> {
  const rows = await database.query<DeadLetterRow>(listSql(tables), [
    query.consumer ?? null,
    query.fingerprint ?? null,
    query.includeResolved === true,
    query.limit ?? DEFAULTS.deadLetters.listLimit,
  ]);
  return rows.map(toDeadLetter).map(withoutStack);
}

/**
 * Replays one letter: with this dispatcher's handlers when it runs the letter's consumer, otherwise
 * requested of that consumer (outcome "requested").
 */
export async function replayOne({ dispatcher: d }: ConsoleContext, id: string, by: string): Promise<ReplayOutcome> {
  try {
    const result = await d.deadLetters.replay(id, { replayedBy: by });
    return { outcome: result.outcome, deadLetter: withoutStack(result.deadLetter) };
  } catch (error) {
    if (!NoHandlerError.isInstance(error)) throw error;
    return { outcome: "requested", deadLetter: withoutStack(await d.deadLetters.requestReplay(id, { requestedBy: by })) };
  }
}

/**
 * Replays every active letter of a failure fingerprint (of one consumer when named), oldest first:
 * the letters of the consumer this dispatcher runs one by one with its handlers, the others requested
 * of their consumers in one statement per consumer.
 */
export async function replayGroup(
  ctx: ConsoleContext,
  fingerprint: string,
  input: { by: string; consumer?: string },
): Promise<ReplayOutcome[]> {
  const { dispatcher: d, database, tables } = ctx;
  const letters = await database.query<{ id: string; consumer: string }>(activeOfGroupSql(tables), [fingerprint, input.consumer ?? null]);
  const running = d.consumerLoop?.options.consumer;
  const outcomes: Array<{ outcome: ReplayResult["outcome"]; deadLetter: DeadLetter }> = [];
  for (const consumer of new Set(letters.map((l) => l.consumer))) {
    if (consumer === running) continue;
    const requested = await d.deadLetters.requestGroupReplay(fingerprint, { requestedBy: input.by, consumer });
    for (const deadLetter of requested) outcomes.push({ outcome: "requested", deadLetter });
  }
  for (const letter of letters.filter((l) => l.consumer === running)) {
    try {
      const result = await d.deadLetters.replay(letter.id, { replayedBy: input.by });
      outcomes.push({ outcome: result.outcome, deadLetter: result.deadLetter });
    } catch (error) {
      // Resolved meanwhile (by another operator or a requested replay): nothing left to do for it.
      if (DeadLetterAlreadyResolvedError.isInstance(error)) continue;
      if (!NoHandlerError.isInstance(error)) throw error;
      outcomes.push({ outcome: "requested", deadLetter: await d.deadLetters.requestReplay(letter.id, { requestedBy: input.by }) });
    }
  }
  return outcomes
    .sort((a, b) => oldestFirst(a.deadLetter, b.deadLetter))
    .map((o) => ({ outcome: o.outcome, deadLetter: withoutStack(o.deadLetter) }));
}

/** Resolves every active letter of a failure fingerprint (of one consumer when named), oldest first. */
export async function resolveGroup(
  { database, tables }: ConsoleContext,
  fingerprint: string,
  input: { by: string; note?: string | null; consumer?: string },
): Promise<DeadLetterView[]> {
  const rows = await database.query<DeadLetterRow>(resolveGroupSql(tables), [
    fingerprint,
    input.by,
    input.note ?? null,
    input.consumer ?? null,
  ]);
  return rows.map(toDeadLetter).sort(oldestFirst).map(withoutStack);
}
