import { ADVISORY_LOCK_SQL, DEFAULTS, rewindLockKey, type Tables } from "../config/index.js";
import type { Database, Queryable } from "../database/index.js";
import { InvalidArgumentError } from "../errors/index.js";
import { parseDuration } from "./duration.js";

export interface PruneOptions {
  /** Events older than this that every cursor of their type has passed. Default "30d". */
  olderThan?: number | string;
  /** Dedup rows older than this. Default: olderThan. */
  dedupOlderThan?: number | string;
  /** Resolved dead letters resolved longer ago than this. Default "90d". */
  resolvedDeadLettersOlderThan?: number | string;
  /** Rows per DELETE statement. Default 5000. */
  batchSize?: number;
  /** Count what would be deleted; delete nothing. Default false. */
  dryRun?: boolean;
  /** Called after each batch that deleted rows, with the rows of that table deleted so far. */
  onProgress?: (progress: { table: keyof PruneResult; deleted: number }) => void;
}

export interface PruneResult {
  events: number;
  dedup: number;
  deadLetters: number;
}

export const PRUNE_DEFAULTS = { olderThan: "30d", resolvedDeadLettersOlderThan: "90d", batchSize: 5000 } as const;

// The rows each rule lets go ($1: the window in ms). An event goes only when it is old enough AND
// numbered at or below the lowest cursor of its type: an event no cursor has passed (including one
// of a type nobody consumes yet) is never deleted.
const eventsRule = (t: Tables) => `FROM ${t.event} e
    WHERE e.created_at < now() - ($1::float8 * interval '1 millisecond') AND e.position IS NOT NULL
      AND e.position <= (SELECT min(c.last_position) FROM ${t.cursor} c WHERE c.event_type = e.event_type)`;
const dedupRule = (t: Tables) => `FROM ${t.dedup} d WHERE d.delivered_at < now() - ($1::float8 * interval '1 millisecond')`;
const deadLettersRule = (t: Tables) => `FROM ${t.deadLetter} l WHERE l.resolved_at < now() - ($1::float8 * interval '1 millisecond')`;

const rules = (t: Tables) =>
  [
    { key: "events", rule: eventsRule(t), remove: (ids: string) => `DELETE FROM ${t.event} WHERE id IN (SELECT e.id ${ids})` },
    { key: "dedup", rule: dedupRule(t), remove: (ids: string) => `DELETE FROM ${t.dedup} WHERE ctid IN (SELECT d.ctid ${ids})` },
    {
      key: "deadLetters",
      rule: deadLettersRule(t),
      remove: (ids: string) => `DELETE FROM ${t.deadLetter} WHERE id IN (SELECT l.id ${ids})`,
    },
  ] as const;

/**
 * Deletes what retention allows, in bounded batches (each its own statement), and reports the counts.
 * With `dryRun` it only counts what it would delete.
 */
export async function pruneTables(db: Database, tables: Tables, options: PruneOptions = {}): Promise<PruneResult> {
  const windows = {
    events: parseDuration(options.olderThan ?? PRUNE_DEFAULTS.olderThan, "olderThan"),
    dedup: parseDuration(options.dedupOlderThan ?? options.olderThan ?? PRUNE_DEFAULTS.olderThan, "dedupOlderThan"),
    deadLetters: parseDuration(
      options.resolvedDeadLettersOlderThan ?? PRUNE_DEFAULTS.resolvedDeadLettersOlderThan,
      "resolvedDeadLettersOlderThan",
    ),
  };
  const batch = options.batchSize ?? PRUNE_DEFAULTS.batchSize;
  if (!Number.isInteger(batch) || batch < 1)
    throw new InvalidArgumentError(`batchSize must be a positive integer (got ${batch})`, "batchSize");
  const count = async (sql: string, values: unknown[], q: Queryable = db) => Number((await q.query<{ n: number }>(sql, values))[0]?.n ?? 0);
  const drain = async (table: keyof PruneResult, sql: string, ms: number) => {
    let total = 0;
    for (;;) {
      const gone = `WITH gone AS (${sql} RETURNING 1) SELECT count(*)::int AS n FROM gone`;
      // Events go only once every cursor has passed them: decided after the rewind lock, so that a
      // rewind cannot move a cursor back over them while the statement deletes them.
      const n =
        table === "events"
          ? await db.transaction(
              async (q) => {
                await q.query(ADVISORY_LOCK_SQL, [rewindLockKey(tables)]);
                return count(gone, [ms, batch], q);
              },
              { timeoutMs: DEFAULTS.transactions.pruneBatchTimeoutMs },
            )
          : await count(gone, [ms, batch]);
      total += n;
      if (n > 0) options.onProgress?.({ table, deleted: total });
      if (n < batch) return total;
    }
  };
  const result: PruneResult = { events: 0, dedup: 0, deadLetters: 0 };
  for (const { key, rule, remove } of rules(tables)) {
    result[key] = options.dryRun
      ? await count(`SELECT count(*)::int AS n ${rule}`, [windows[key]])
      : await drain(key, remove(`${rule} LIMIT $2::int`), windows[key]);
  }
  return result;
}
