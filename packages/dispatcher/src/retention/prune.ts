import type { Tables } from "../config/index.js";
import type { Queryable } from "../database/index.js";
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
}

export interface PruneResult {
  events: number;
  dedup: number;
  deadLetters: number;
}

export const PRUNE_DEFAULTS = { olderThan: "30d", resolvedDeadLettersOlderThan: "90d", batchSize: 5000 } as const;

// An event goes only when it is old enough AND numbered at or below the lowest cursor of its type:
// an event no cursor has passed (including one of a type nobody consumes yet) is never deleted.
const pruneEventsSql = (t: Tables) => `DELETE FROM ${t.event} WHERE id IN (
    SELECT e.id FROM ${t.event} e
    WHERE e.created_at < now() - ($1::float8 * interval '1 millisecond') AND e.position IS NOT NULL
      AND e.position <= (SELECT min(c.last_position) FROM ${t.cursor} c WHERE c.event_type = e.event_type)
    LIMIT $2::int)`;
const pruneDedupSql = (t: Tables) => `DELETE FROM ${t.dedup} WHERE ctid IN (
    SELECT ctid FROM ${t.dedup} WHERE delivered_at < now() - ($1::float8 * interval '1 millisecond') LIMIT $2::int)`;
const pruneDeadLettersSql = (t: Tables) => `DELETE FROM ${t.deadLetter} WHERE id IN (
    SELECT id FROM ${t.deadLetter} WHERE resolved_at < now() - ($1::float8 * interval '1 millisecond') LIMIT $2::int)`;

/** Deletes what retention allows, in bounded batches (each its own statement), and reports the counts. */
export async function pruneTables(q: Queryable, tables: Tables, options: PruneOptions = {}): Promise<PruneResult> {
  const eventsMs = parseDuration(options.olderThan ?? PRUNE_DEFAULTS.olderThan, "olderThan");
  const dedupMs = parseDuration(options.dedupOlderThan ?? options.olderThan ?? PRUNE_DEFAULTS.olderThan, "dedupOlderThan");
  const deadMs = parseDuration(options.resolvedDeadLettersOlderThan ?? PRUNE_DEFAULTS.resolvedDeadLettersOlderThan, "resolvedDeadLettersOlderThan");
  const batch = options.batchSize ?? PRUNE_DEFAULTS.batchSize;
  if (!Number.isInteger(batch) || batch < 1) throw new InvalidArgumentError(`batchSize must be a positive integer (got ${batch})`, "batchSize");
  const drain = async (sql: string, ms: number) => {
    let total = 0;
    for (;;) {
      const rows = await q.query<{ n: number }>(`WITH gone AS (${sql} RETURNING 1) SELECT count(*)::int AS n FROM gone`, [ms, batch]);
      const n = Number(rows[0]?.n ?? 0);
      total += n;
      if (n < batch) return total;
    }
  };
  return {
    events: await drain(pruneEventsSql(tables), eventsMs),
    dedup: await drain(pruneDedupSql(tables), dedupMs),
    deadLetters: await drain(pruneDeadLettersSql(tables), deadMs),
  };
}
