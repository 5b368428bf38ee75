import { ADVISORY_LOCK_SQL, CLEAR_RETRY_STATE, rewindLockKey, type Tables } from "../config/index.js";
import type { Database, Queryable } from "../database/index.js";
import { InvalidArgumentError, ReprocessNotConfirmedError } from "../errors/index.js";

export interface ResetCursorOptions {
  consumer: string;
  /** An event_id (that event and everything after it is delivered again) or a time (every event created from then on). */
  to: string | Date;
  /** Only this event type's cursor. Default: all of the consumer's cursors. */
  eventType?: string;
  /**
   * Apply the rewound events again, including those this consumer already applied: deletes its dedup
   * rows for them (a rebuild). Needs `confirm`. Default false: a rewound event this consumer already
   * applied is skipped as a duplicate; only events it never applied (dead-lettered, or from before a
   * `startFrom: "now"` start) reach its handlers.
   */
  reprocess?: boolean;
  /** With `reprocess: true`: the consumer's name, typed again. Anything else throws ReprocessNotConfirmedError. */
  confirm?: string;
  /** Report what would change and change nothing. Default false. */
  dryRun?: boolean;
}

export interface RewoundCursor {
  eventType: string;
  /** Position before the rewind. */
  from: number;
  /** Position after it (never above `from`). */
  position: number;
  /** Stored events in (position, from]: delivered again. */
  events: number;
  /** Of those, how many reach the handlers: all with reprocess, else only those this consumer never applied. */
  willApply: number;
  /** Dedup rows deleted (reprocess only): every event past `position` this consumer had applied. */
  forgotten: number;
}

export interface ResetCursorResult {
  reprocess: boolean;
  dryRun: boolean;
  cursors: RewoundCursor[];
  /** Dedup rows deleted in all (0 without reprocess). */
  forgotten: number;
}

const positionOfSql = (t: Tables) => `SELECT position::text AS position FROM ${t.event} WHERE event_id = $1 AND position IS NOT NULL`;
const lockSql = (t: Tables) => `SELECT 1 FROM ${t.cursor} WHERE consumer = $1 AND ($2::text IS NULL OR event_type = $2) FOR UPDATE`;
// Per cursor: where it would go ($3: just before that event's position; else $4: just before the first
// event of its type created at or after that time; never forward), and what that rewinds.
const planSql = (t: Tables) => `WITH target AS (
    SELECT c.event_type, c.last_position AS from_position, LEAST(c.last_position, CASE WHEN $3::bigint IS NOT NULL THEN $3::bigint - 1
      ELSE coalesce((SELECT min(e.position) - 1 FROM ${t.event} e WHERE e.event_type = c.event_type AND e.created_at >= $4::timestamptz),
        c.last_position) END) AS position
    FROM ${t.cursor} c WHERE c.consumer = $1 AND ($2::text IS NULL OR c.event_type = $2))
  SELECT t.event_type, t.from_position::text AS from_position, t.position::text AS position,
    (SELECT count(*) FROM ${t.event} e
      WHERE e.event_type = t.event_type AND e.position > t.position AND e.position <= t.from_position)::int AS events,
    (SELECT count(*) FROM ${t.event} e JOIN ${t.dedup} d ON d.consumer = $1 AND d.event_id = e.event_id
      WHERE e.event_type = t.event_type AND e.position > t.position AND e.position <= t.from_position)::int AS applied,
    (SELECT count(*) FROM ${t.event} e JOIN ${t.dedup} d ON d.consumer = $1 AND d.event_id = e.event_id
      WHERE e.event_type = t.event_type AND e.position > t.position)::int AS dedup_rows
  FROM target t ORDER BY t.event_type`;
// Moves only cursors that go back, and clears their retry state (it was about another event).
const rewindSql = (t: Tables) => `UPDATE ${t.cursor} c SET last_position = p.position, ${CLEAR_RETRY_STATE}
  FROM (SELECT unnest($2::text[]) AS event_type, unnest($3::bigint[]) AS position) p
  WHERE c.consumer = $1 AND c.event_type = p.event_type AND p.position < c.last_position`;
const forgetSql = (
  t: Tables,
) => `DELETE FROM ${t.dedup} d USING ${t.event} e, (SELECT unnest($2::text[]) AS event_type, unnest($3::bigint[]) AS position) p
  WHERE d.consumer = $1 AND e.event_id = d.event_id AND e.event_type = p.event_type AND e.position > p.position`;

interface PlanRow {
  event_type: string;
  from_position: string;
  position: string;
  events: number;
  applied: number;
  dedup_rows: number;
}

function parseTarget(to: unknown): { eventId?: string; time?: Date } {
  if (typeof to === "string" && to.startsWith("evt_")) return { eventId: to };
  const time = to instanceof Date ? to : typeof to === "string" ? new Date(to) : undefined;
  if (!time || Number.isNaN(time.getTime()))
    throw new InvalidArgumentError(`--to must be an event id (evt_...) or an ISO time (got ${JSON.stringify(to)})`, "to");
  return { time };
}

/**
 * Rewinds a consumer's cursors; the rewound events are delivered again. By default an event this
 * consumer already applied is skipped as a duplicate (its dedup row stays); `reprocess` with `confirm`
 * deletes those dedup rows so every rewound event is applied again (a projection rebuild).
 */
export async function resetCursor(database: Database, tables: Tables, options: ResetCursorOptions): Promise<ResetCursorResult> {
  const { consumer, eventType } = options;
  const reprocess = options.reprocess === true;
  const dryRun = options.dryRun === true;
  if (options.reprocess !== undefined && typeof options.reprocess !== "boolean")
    throw new InvalidArgumentError("reprocess must be a boolean", "reprocess");
  if (options.confirm !== undefined && !reprocess) throw new InvalidArgumentError("confirm is only read with reprocess: true", "confirm");
  if (reprocess && !dryRun && options.confirm !== consumer) throw new ReprocessNotConfirmedError(consumer);
  const target = parseTarget(options.to);
  const plan = async (q: Queryable): Promise<PlanRow[]> => {
    let position: number | null = null;
    if (target.eventId) {
      const [event] = await q.query<{ position: string }>(positionOfSql(tables), [target.eventId]);
      if (!event)
        throw new InvalidArgumentError(
          `no delivered-order position for event ${target.eventId}: it does not exist or is not committed yet`,
          "to",
        );
      position = Number(event.position);
    }
    const rows = await q.query<PlanRow>(planSql(tables), [consumer, eventType ?? null, position, target.time?.toISOString() ?? null]);
    if (rows.length === 0)
      throw new InvalidArgumentError(`consumer "${consumer}" has no cursor${eventType ? ` for ${eventType}` : ""}`, "consumer");
    return rows;
  };
  const result = (rows: PlanRow[]): ResetCursorResult => {
    const cursors = rows.map((r) => ({
      eventType: r.event_type,
      from: Number(r.from_position),
      position: Number(r.position),
      events: Number(r.events),
      willApply: reprocess ? Number(r.events) : Number(r.events) - Number(r.applied),
      forgotten: reprocess ? Number(r.dedup_rows) : 0,
    }));
    return { reprocess, dryRun, cursors, forgotten: cursors.reduce((n, c) => n + c.forgotten, 0) };
  };
  if (dryRun) return result(await plan(database));
  return database.transaction(async (q) => {
    // First, so a prune batch running now finishes before this plans (see rewindLockKey).
    await q.query(ADVISORY_LOCK_SQL, [rewindLockKey(tables)]);
    await q.query(lockSql(tables), [consumer, eventType ?? null]);
    const rows = await plan(q);
    const args = [consumer, rows.map((r) => r.event_type), rows.map((r) => r.position)];
    await q.query(rewindSql(tables), args);
    if (reprocess) await q.query(forgetSql(tables), args);
    return result(rows);
  });
}
