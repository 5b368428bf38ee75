import type { Tables } from "../config/index.js";
import type { Queryable } from "../database/index.js";

export interface CursorStatus {
  consumer: string;
  eventType: string;
  /** Position of the last event delivered (or dead-lettered). */
  position: number;
  /** Committed events not yet delivered to this consumer. */
  lagEvents: number;
  /** Age of the oldest of those, in seconds (0 when none). */
  lagSeconds: number;
  lastDeliveredAt: Date | null;
  /** Attempts already failed on the next event, and when it is retried. */
  failedAttempts: number;
  retryAt: Date | null;
  activeDeadLetters: number;
  /**
   * The lowest position of this event type still stored, and when that event was created (null when
   * none is stored). A cursor created with `startFrom: "earliest"` starts there: older events of the
   * type were pruned (or never existed) and no consumer can get them any more.
   */
  earliestRetainedPosition: number | null;
  earliestRetainedAt: Date | null;
  /** The `startFrom` the cursor was created with, and the position it started at (null for cursors created before 2.2). */
  startFrom: "earliest" | "now" | null;
  startPosition: number | null;
}

// Per cursor: undelivered events (numbered past the cursor, or committed but not numbered yet),
// the age of the oldest, the consumer's active dead letters of that type, and the type's earliest stored event.
const statusSql = (t: Tables) => `SELECT c.consumer, c.event_type, c.last_position::text AS position, c.last_delivered_at,
    c.failed_attempts, c.retry_at, lag.events::int AS lag_events,
    coalesce(extract(epoch FROM now() - lag.oldest), 0)::float8 AS lag_seconds,
    (SELECT count(*) FROM ${t.deadLetter} d
      WHERE d.consumer = c.consumer AND d.event_type = c.event_type AND d.resolved_at IS NULL)::int AS active_dead_letters,
    earliest.position::text AS earliest_position, earliest.created_at AS earliest_created_at,
    c.start_from, c.start_position::text AS start_position
  FROM ${t.cursor} c
  LEFT JOIN LATERAL (
    SELECT e.position, e.created_at FROM ${t.event} e WHERE e.event_type = c.event_type AND e.position IS NOT NULL
    ORDER BY e.position LIMIT 1
  ) earliest ON true
  CROSS JOIN LATERAL (
    SELECT count(*) AS events, min(created_at) AS oldest FROM (
      -- The upper bound (always true) makes the planner estimate a range, not a third of the table:
      -- with a long history it would otherwise scan every event of the type instead of the index.
      SELECT created_at FROM ${t.event} e
        WHERE e.event_type = c.event_type AND e.position > c.last_position AND e.position <= 9223372036854775807
      UNION ALL
      SELECT created_at FROM ${t.event} e WHERE e.event_type = c.event_type AND e.position IS NULL
    ) pending
  ) lag
  WHERE ($1::text IS NULL OR c.consumer = $1)
  ORDER BY c.consumer, c.event_type`;

/** Cursor position, lag, last delivery, retry state, active dead letters and earliest stored event per (consumer, event_type). */
export async function consumerStatus(q: Queryable, tables: Tables, consumer?: string): Promise<CursorStatus[]> {
  const rows = await q.query<Record<string, unknown>>(statusSql(tables), [consumer ?? null]);
  return rows.map((r) => ({
    consumer: String(r["consumer"]),
    eventType: String(r["event_type"]),
    position: Number(r["position"]),
    lagEvents: Number(r["lag_events"]),
    lagSeconds: Number(r["lag_seconds"]),
    lastDeliveredAt: r["last_delivered_at"] ? new Date(r["last_delivered_at"] as string) : null,
    failedAttempts: Number(r["failed_attempts"]),
    retryAt: r["retry_at"] ? new Date(r["retry_at"] as string) : null,
    activeDeadLetters: Number(r["active_dead_letters"]),
    earliestRetainedPosition: r["earliest_position"] === null ? null : Number(r["earliest_position"]),
    earliestRetainedAt: r["earliest_created_at"] ? new Date(r["earliest_created_at"] as string) : null,
    startFrom: (r["start_from"] as CursorStatus["startFrom"]) ?? null,
    startPosition: r["start_position"] === null ? null : Number(r["start_position"]),
  }));
}
