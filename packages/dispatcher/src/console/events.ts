import type { Tables } from "../config/index.js";
import type { EventRow as StoredEventRow } from "../consumer/event-row.js";
import type { Queryable } from "../database/index.js";

/** An event as the console shows it: the envelope in camelCase, with its position (null until numbered) and creation time. */
export interface EventRow {
  eventId: string;
  eventType: string;
  schemaVersion: number;
  tenantId: string;
  producer: string;
  occurredAt: Date;
  subject: string | null;
  actor: string | null;
  correlationId: string | null;
  payload: unknown;
  position: number | null;
  createdAt: Date;
}

export interface EventSearch {
  eventId?: string;
  eventType?: string;
  subject?: string;
  correlationId?: string;
  /** created_at at or after. */
  from?: Date;
  /** created_at before. */
  to?: Date;
  limit?: number;
}

export interface EventDetail {
  event: EventRow;
  /** Consumers that have it (a dedup row), by name. */
  deliveredTo: string[];
  /** Dead letters of it, oldest first. */
  deadLettered: Array<{ consumer: string; deadLetterId: string; resolvedAt: Date | null }>;
}

export const EVENTS_DEFAULT_LIMIT = 50;
export const FLOW_LIMIT = 1000;
export const TAIL_LIMIT = 200;

const COLUMNS = `e.position::text AS position, e.event_id, e.event_type, e.schema_version, e.tenant_id, e.producer, e.occurred_at,
  e.subject, e.actor, e.correlation_id, e.payload, e.created_at`;

// Newest first; every filter optional (eventId by the unique index, a time range by the created_at index).
const searchSql = (t: Tables) => `SELECT ${COLUMNS} FROM ${t.event} e
  WHERE ($1::text IS NULL OR e.event_id = $1) AND ($2::text IS NULL OR e.event_type = $2)
    AND ($3::text IS NULL OR e.subject = $3) AND ($4::text IS NULL OR e.correlation_id = $4)
    AND ($5::timestamptz IS NULL OR e.created_at >= $5) AND ($6::timestamptz IS NULL OR e.created_at < $6)
  ORDER BY e.created_at DESC, e.id DESC LIMIT $7::int`;
const eventSql = (t: Tables) => `SELECT ${COLUMNS} FROM ${t.event} e WHERE e.event_id = $1`;
// One probe of the dedup primary key (consumer, event_id) per known consumer.
const deliveredToSql = (
  t: Tables,
) => `SELECT k.consumer FROM (SELECT consumer FROM ${t.cursor} UNION SELECT consumer FROM ${t.deadLetter}) k
  WHERE EXISTS (SELECT 1 FROM ${t.dedup} d WHERE d.consumer = k.consumer AND d.event_id = $1) ORDER BY k.consumer`;
const deadLetteredSql = (t: Tables) => `SELECT consumer, id, resolved_at FROM ${t.deadLetter} WHERE event_id = $1 ORDER BY created_at, id`;
// In delivery order; events not numbered yet last, in insertion order.
const flowSql = (t: Tables) => `SELECT ${COLUMNS} FROM ${t.event} e WHERE e.correlation_id = $1
  ORDER BY e.position NULLS LAST, e.id LIMIT ${FLOW_LIMIT}`;
// The event types stored, one index probe each: a loose scan of dispatcher_event_type_position.
const typesCte = (t: Tables) => `WITH RECURSIVE types AS (
    (SELECT event_type FROM ${t.event} ORDER BY event_type LIMIT 1)
    UNION ALL
    SELECT (SELECT e.event_type FROM ${t.event} e WHERE e.event_type > types.event_type ORDER BY e.event_type LIMIT 1)
    FROM types WHERE types.event_type IS NOT NULL
  )`;
// The highest position handed out that is still stored: the last of each type, by the index.
const newestPositionSql = (t: Tables) => `${typesCte(t)}
  SELECT coalesce(max(p.position), 0)::text AS position FROM types
  CROSS JOIN LATERAL (SELECT e.position FROM ${t.event} e WHERE e.event_type = types.event_type AND e.position IS NOT NULL
    ORDER BY e.position DESC LIMIT 1) p
  WHERE types.event_type IS NOT NULL`;
// The next events after a position: each type's by the index (dispatcher_events_after), merged.
const tailSql = (t: Tables) => `${typesCte(t)}
  SELECT ${COLUMNS} FROM types CROSS JOIN LATERAL ${t.eventsAfter}(types.event_type, $1::bigint, $2::int) e
  WHERE types.event_type IS NOT NULL ORDER BY e.position LIMIT $2::int`;
const tailOfTypeSql = (t: Tables) => `SELECT ${COLUMNS} FROM ${t.eventsAfter}($3::text, $1::bigint, $2::int) e ORDER BY e.position`;

/** A stored event as the consumer reads it, without the consumer's bookkeeping; position is null until numbered. */
type Row = Omit<StoredEventRow, "position" | "trace_context" | "sequenced_at"> & { position: string | null };

function toEventRow(r: Row): EventRow {
  return {
    eventId: r.event_id,
    eventType: r.event_type,
    schemaVersion: Number(r.schema_version),
    tenantId: r.tenant_id,
    producer: r.producer,
    occurredAt: new Date(r.occurred_at),
    subject: r.subject,
    actor: r.actor,
    correlationId: r.correlation_id,
    payload: r.payload,
    position: r.position === null ? null : Number(r.position),
    createdAt: new Date(r.created_at),
  };
}

/** Events matching every filter given, newest first (limit default 50). */
export async function searchEvents(q: Queryable, tables: Tables, search: EventSearch): Promise<EventRow[]> {
  const rows = await q.query<Row>(searchSql(tables), [
    search.eventId ?? null,
    search.eventType ?? null,
    search.subject ?? null,
    search.correlationId ?? null,
    search.from?.toISOString() ?? null,
    search.to?.toISOString() ?? null,
    search.limit ?? EVENTS_DEFAULT_LIMIT,
  ]);
  return rows.map(toEventRow);
}

/** One event, who has it and who dead-lettered it; undefined when it is not stored. */
export async function eventDetail(q: Queryable, tables: Tables, eventId: string): Promise<EventDetail | undefined> {
  const [row] = await q.query<Row>(eventSql(tables), [eventId]);
  if (!row) return undefined;
  const [delivered, deadLettered] = await Promise.all([
    q.query<{ consumer: string }>(deliveredToSql(tables), [eventId]),
    q.query<{ consumer: string; id: string; resolved_at: Date | null }>(deadLetteredSql(tables), [eventId]),
  ]);
  return {
    event: toEventRow(row),
    deliveredTo: delivered.map((r) => r.consumer),
    deadLettered: deadLettered.map((r) => ({
      consumer: r.consumer,
      deadLetterId: r.id,
      resolvedAt: r.resolved_at === null ? null : new Date(r.resolved_at),
    })),
  };
}

/** The events of one correlation id in delivery order (at most 1000). */
export async function flow(q: Queryable, tables: Tables, correlationId: string): Promise<{ correlationId: string; events: EventRow[] }> {
  const rows = await q.query<Row>(flowSql(tables), [correlationId]);
  return { correlationId, events: rows.map(toEventRow) };
}

/**
 * The events numbered after `after` (default: the newest position, so none), of one type or all, at
 * most 200, in position order, and the position to ask after next time.
 */
export async function tail(
  q: Queryable,
  tables: Tables,
  options: { after?: string; eventType?: string },
): Promise<{ events: EventRow[]; position: number }> {
  const after = options.after ?? (await q.query<{ position: string }>(newestPositionSql(tables)))[0]!.position;
  const rows =
    options.eventType === undefined
      ? await q.query<Row>(tailSql(tables), [after, TAIL_LIMIT])
      : await q.query<Row>(tailOfTypeSql(tables), [after, TAIL_LIMIT, options.eventType]);
  const events = rows.map(toEventRow);
  return { events, position: events.length > 0 ? events[events.length - 1]!.position! : Number(after) };
}
