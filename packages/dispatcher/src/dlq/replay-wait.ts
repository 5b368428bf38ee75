import type { Tables } from "../config/index.js";
import type { Queryable } from "../database/index.js";
import { DeadLetterNotFoundError } from "../errors/index.js";
import { DEAD_LETTER_COLUMNS, toDeadLetter, type DeadLetter, type DeadLetterRow } from "./dead-letter.js";
import { REPLAY_NOTES } from "./dead-letter-service.js";

/**
 * What became of a requested replay. replayed / already_delivered: the owning consumer did it and
 * resolved the letter. failed: it ran the handler again, which failed (the letter stays active with
 * the new error). resolved: someone resolved the letter meanwhile, without a replay.
 */
export interface PerformedReplay {
  outcome: "replayed" | "already_delivered" | "failed" | "resolved";
  deadLetter: DeadLetter;
}

export interface WaitForReplaysOptions {
  /** Give up after this long; the letters not performed by then are returned as `pending`. */
  timeoutMs: number;
  /** How often the letters are read again. Default 200 ms. */
  pollIntervalMs?: number;
  /** Called once per performed replay, in the order they are seen. */
  onPerformed?: (replay: PerformedReplay, done: number, total: number) => void;
}

const readSql = (t: Tables) => `SELECT ${DEAD_LETTER_COLUMNS} FROM ${t.deadLetter} WHERE id = ANY($1::text[]) ORDER BY created_at, id`;

function performed(requested: DeadLetter, now: DeadLetter): PerformedReplay["outcome"] | undefined {
  if (now.resolvedAt) {
    if (now.resolutionNote === REPLAY_NOTES.replayed) return "replayed";
    if (now.resolutionNote === REPLAY_NOTES.alreadyDelivered) return "already_delivered";
    return "resolved";
  }
  // Failed: attempted since, and the request no longer there (a replay that was already running when
  // it was made counts its attempt but leaves the request for the owner to perform).
  const stillRequested = now.replayRequestedAt !== null && now.replayRequestedAt.getTime() === requested.replayRequestedAt?.getTime();
  return now.attempts > requested.attempts && !stillRequested ? "failed" : undefined;
}

/**
 * Waits until the owning consumers performed the replays requested of them (`requested`: the letters
 * as the request returned them), reading the letters every `pollIntervalMs`. Returns what each became,
 * and the letters still waiting at the timeout. A letter deleted meanwhile throws DeadLetterNotFoundError.
 */
export async function waitForReplays(
  q: Queryable,
  tables: Tables,
  requested: readonly DeadLetter[],
  options: WaitForReplaysOptions,
): Promise<{ performed: PerformedReplay[]; pending: DeadLetter[] }> {
  const deadline = Date.now() + options.timeoutMs;
  const waiting = new Map(requested.map((d) => [d.id, d]));
  const done: PerformedReplay[] = [];
  for (;;) {
    const rows = await q.query<DeadLetterRow>(readSql(tables), [[...waiting.keys()]]);
    const seen = new Set(rows.map((r) => r.id));
    const gone = [...waiting.keys()].find((id) => !seen.has(id));
    if (gone) throw new DeadLetterNotFoundError(gone);
    for (const now of rows.map(toDeadLetter)) {
      const outcome = performed(waiting.get(now.id)!, now);
      if (!outcome) continue;
      waiting.delete(now.id);
      done.push({ outcome, deadLetter: now });
      options.onPerformed?.(done[done.length - 1]!, done.length, requested.length);
    }
    if (waiting.size === 0 || Date.now() >= deadline) return { performed: done, pending: [...waiting.values()] };
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.pollIntervalMs ?? 200, Math.max(deadline - Date.now(), 1))));
  }
}
