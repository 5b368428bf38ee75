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
}

// Per cursor: undelivered events (numbered past the cursor, or committed but not numbered yet),
// the age of the oldest, and the consumer's active dead letters of that type.
const statusSql = (t: Tables) => `SELECT c.consumer, c.event_type, c.last_position::text AS position, c.last_delivered_at,
    c.failed_attempts, c.retry_at, lag.events::int AS lag_events,
    coalesce(extract(epoch FROM now() - lag.oldest), 0)::float8 AS lag_seconds,
    (SELECT count(*) FROM ${t.deadLetter} d WHERE d.consumer = c.consumer AND d.event_type = c.event_type AND d.resolved_at IS NULL)::int AS active_dead_letters
  FROM ${t.cursor} c
  CROSS JOIN LATERAL (
    SELECT count(*) AS events, min(created_at) AS oldest FROM (
      SELECT created_at FROM ${t.event} e WHERE e.event_type = c.event_type AND e.position > c.last_position
      UNION ALL
      SELECT created_at FROM ${t.event} e WHERE e.event_type = c.event_type AND e.position IS NULL
    ) pending
  ) lag
  WHERE ($1::text IS NULL OR c.consumer = $1)
  ORDER BY c.consumer, c.event_type`;

/** Cursor position, lag, last delivery, retry state and active dead letters per (consumer, event_type). */
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
  }));
}
