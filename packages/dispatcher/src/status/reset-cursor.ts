import type { Tables } from "../config/index.js";
import type { Database } from "../database/index.js";
import { InvalidArgumentError } from "../errors/index.js";

export interface ResetCursorOptions {
  consumer: string;
  /** An event_id (that event and everything after it is delivered again) or a time (events created from then on). */
  to: string | Date;
  /** Only this event type's cursor. Default: all of the consumer's cursors. */
  eventType?: string;
}

const positionOfSql = (t: Tables) => `SELECT position::text AS position FROM ${t.event} WHERE event_id = $1 AND position IS NOT NULL`;
// Only ever moves a cursor back, and clears its retry state.
const rewindToPositionSql = (t: Tables) => `UPDATE ${t.cursor} SET last_position = LEAST(last_position, $2::bigint),
    failed_attempts = 0, first_failed_at = NULL, retry_at = NULL, last_error = NULL, updated_at = now()
  WHERE consumer = $1 AND ($3::text IS NULL OR event_type = $3) RETURNING event_type, last_position::text AS position`;
const rewindToTimeSql = (t: Tables) => `UPDATE ${t.cursor} c SET last_position = LEAST(c.last_position,
      coalesce((SELECT max(e.position) FROM ${t.event} e WHERE e.event_type = c.event_type AND e.created_at < $2::timestamptz), 0)),
    failed_attempts = 0, first_failed_at = NULL, retry_at = NULL, last_error = NULL, updated_at = now()
  WHERE c.consumer = $1 AND ($3::text IS NULL OR c.event_type = $3) RETURNING c.event_type, c.last_position::text AS position`;
// Without this the dedup rows would keep the rewound events from the handlers.
const forgetDeliveriesSql = (t: Tables) => `WITH gone AS (
    DELETE FROM ${t.dedup} d USING ${t.event} e, ${t.cursor} c
    WHERE d.consumer = $1 AND e.event_id = d.event_id AND c.consumer = d.consumer AND c.event_type = e.event_type
      AND e.position > c.last_position AND ($2::text IS NULL OR c.event_type = $2)
    RETURNING 1)
  SELECT count(*)::int AS n FROM gone`;

export interface ResetCursorResult {
  cursors: Array<{ eventType: string; position: number }>;
  /** Dedup rows removed so the rewound events reach the handlers again. */
  forgotten: number;
}

/** Rewinds a consumer (to rebuild a projection): its cursors move back and the rewound events are delivered again. */
export async function resetCursor(database: Database, tables: Tables, options: ResetCursorOptions): Promise<ResetCursorResult> {
  const to = options.to;
  const isEvent = typeof to === "string" && to.startsWith("evt_");
  const time = to instanceof Date ? to : isEvent ? undefined : new Date(String(to));
  if (!isEvent && (!time || Number.isNaN(time.getTime()))) {
    throw new InvalidArgumentError(`--to must be an event id (evt_...) or an ISO time (got ${JSON.stringify(to)})`, "to");
  }
  return database.transaction(async (q) => {
    let rows: Array<{ event_type: string; position: string }>;
    if (isEvent) {
      const [event] = await q.query<{ position: string }>(positionOfSql(tables), [to]);
      if (!event) throw new InvalidArgumentError(`no delivered-order position for event ${to}: it does not exist or is not committed yet`, "to");
      rows = await q.query(rewindToPositionSql(tables), [options.consumer, Number(event.position) - 1, options.eventType ?? null]);
    } else {
      rows = await q.query(rewindToTimeSql(tables), [options.consumer, time!.toISOString(), options.eventType ?? null]);
    }
    if (rows.length === 0) throw new InvalidArgumentError(`consumer "${options.consumer}" has no cursor${options.eventType ? ` for ${options.eventType}` : ""}`, "consumer");
    const [gone] = await q.query<{ n: number }>(forgetDeliveriesSql(tables), [options.consumer, options.eventType ?? null]);
    return { cursors: rows.map((r) => ({ eventType: r.event_type, position: Number(r.position) })), forgotten: Number(gone?.n ?? 0) };
  });
}
