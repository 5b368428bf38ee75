import type { Tables } from "../config/index.js";
import type { Queryable } from "../database/index.js";
import { UnknownConsumerError } from "../errors/index.js";
import { assertKnownConsumer, consumerStatus, knownConsumers } from "../status/index.js";

export interface TypeState {
  eventType: string;
  /** Position of the last event delivered (or dead-lettered). */
  position: number;
  lagEvents: number;
  lagSeconds: number;
  paused: boolean;
  pausedAt: Date | null;
  pausedBy: string | null;
  failedAttempts: number;
  retryAt: Date | null;
  lastError: string | null;
  lastDeliveredAt: Date | null;
  activeDeadLetters: number;
}

/** A running consumer loop (a replica), from its heartbeat row. */
export interface Instance {
  instanceId: string;
  host: string;
  pid: number;
  version: string;
  eventTypes: string[];
  startedAt: Date;
  lastSeenAt: Date;
  /** Seen within three heartbeat intervals. */
  live: boolean;
}

export interface ConsumerSummary {
  consumer: string;
  types: TypeState[];
  /** Every one of its types is paused (and it has at least one). */
  paused: boolean;
  instances: Instance[];
  /** Events delivered per minute over the last 60 minutes (the current one last), from its dedup rows. */
  throughput: Array<{ minute: Date; delivered: number }>;
  /** Unresolved dead letters of the consumer, whatever their type. */
  activeDeadLetters: number;
}

export interface PublishedType {
  eventType: string;
  /** Events of the type created in the last 60 minutes (the sum of `perMinute`). */
  lastHour: number;
  perMinute: Array<{ minute: Date; published: number }>;
}

export interface Overview {
  consumers: ConsumerSummary[];
  published: PublishedType[];
  generatedAt: Date;
}

// The 60 minutes shown: the current minute and the 59 before it.
const MINUTES = `SELECT generate_series(date_trunc('minute', now()) - interval '59 minutes', date_trunc('minute', now()),
  interval '1 minute') AS minute`;
const WINDOW_START = `date_trunc('minute', now()) - interval '59 minutes'`;

// What consumerStatus does not carry: the pause and the last error of each cursor.
const cursorStateSql = (t: Tables) => `SELECT consumer, event_type, paused_at, paused_by, last_error FROM ${t.cursor}
  WHERE ($1::text IS NULL OR consumer = $1)`;
const activeDeadLettersSql = (t: Tables) => `SELECT consumer, count(*)::int AS n FROM ${t.deadLetter}
  WHERE resolved_at IS NULL AND ($1::text IS NULL OR consumer = $1) GROUP BY consumer`;
const instancesSql = (t: Tables) => `SELECT instance_id, consumer, host, pid, version, event_types, started_at, last_seen_at,
    last_seen_at >= now() - 3 * heartbeat_interval_ms * interval '1 millisecond' AS live
  FROM ${t.instance} WHERE ($1::text IS NULL OR consumer = $1) ORDER BY consumer, started_at, instance_id`;
// Deliveries per consumer and minute, from the dedup rows (by the delivered_at index); zero-filled.
const throughputSql = (t: Tables) => `WITH minutes AS (${MINUTES}),
  delivered AS (
    SELECT consumer, date_trunc('minute', delivered_at) AS minute, count(*)::int AS n FROM ${t.dedup}
    WHERE delivered_at >= ${WINDOW_START} AND consumer = ANY($1::text[]) GROUP BY 1, 2
  )
  SELECT c.consumer, m.minute, coalesce(d.n, 0)::int AS delivered
  FROM unnest($1::text[]) AS c(consumer) CROSS JOIN minutes m
  LEFT JOIN delivered d ON d.consumer = c.consumer AND d.minute = m.minute
  ORDER BY c.consumer, m.minute`;
// Events created per type and minute (by the created_at index); types with none in the hour are left out.
const publishedSql = (t: Tables) => `WITH minutes AS (${MINUTES}),
  published AS (
    SELECT event_type, date_trunc('minute', created_at) AS minute, count(*)::int AS n FROM ${t.event}
    WHERE created_at >= ${WINDOW_START} GROUP BY 1, 2
  )
  SELECT p.event_type, m.minute, coalesce(x.n, 0)::int AS published, now() AS generated_at
  FROM (SELECT DISTINCT event_type FROM published) p CROSS JOIN minutes m
  LEFT JOIN published x ON x.event_type = p.event_type AND x.minute = m.minute
  ORDER BY p.event_type, m.minute`;
const nowSql = "SELECT now() AS now";
const instanceCountSql = (t: Tables) => `SELECT count(*)::int AS n FROM ${t.instance} WHERE consumer = $1`;

const date = (value: unknown): Date | null => (value === null || value === undefined ? null : new Date(value as string));

/** The summaries of every known consumer (a cursor, a dead letter or a heartbeat carries its name), by name. */
export async function consumerSummaries(q: Queryable, tables: Tables, only?: string): Promise<ConsumerSummary[]> {
  const filter = only ?? null;
  const [statuses, states, deadLetters, instances] = await Promise.all([
    consumerStatus(q, tables, only),
    q.query<Record<string, unknown>>(cursorStateSql(tables), [filter]),
    q.query<{ consumer: string; n: number }>(activeDeadLettersSql(tables), [filter]),
    q.query<Record<string, unknown>>(instancesSql(tables), [filter]),
  ]);
  const names =
    only !== undefined
      ? [only]
      : [...new Set([...(await knownConsumers(q, tables)), ...instances.map((r) => String(r["consumer"]))])].sort();
  const throughput = await q.query<{ consumer: string; minute: Date; delivered: number }>(throughputSql(tables), [names]);
  const stateOf = new Map(states.map((r) => [`${String(r["consumer"])}\n${String(r["event_type"])}`, r]));
  return names.map((consumer) => {
    const types = statuses
      .filter((s) => s.consumer === consumer)
      .map((s): TypeState => {
        const state = stateOf.get(`${consumer}\n${s.eventType}`);
        const pausedAt = date(state?.["paused_at"]);
        return {
          eventType: s.eventType,
          position: s.position,
          lagEvents: s.lagEvents,
          lagSeconds: s.lagSeconds,
          paused: pausedAt !== null,
          pausedAt,
          pausedBy: (state?.["paused_by"] as string | null | undefined) ?? null,
          failedAttempts: s.failedAttempts,
          retryAt: s.retryAt,
          lastError: (state?.["last_error"] as string | null | undefined) ?? null,
          lastDeliveredAt: s.lastDeliveredAt,
          activeDeadLetters: s.activeDeadLetters,
        };
      });
    return {
      consumer,
      types,
      paused: types.length > 0 && types.every((t) => t.paused),
      instances: instances
        .filter((r) => r["consumer"] === consumer)
        .map((r) => ({
          instanceId: String(r["instance_id"]),
          host: String(r["host"]),
          pid: Number(r["pid"]),
          version: String(r["version"]),
          eventTypes: r["event_types"] as string[],
          startedAt: date(r["started_at"])!,
          lastSeenAt: date(r["last_seen_at"])!,
          live: r["live"] === true,
        })),
      throughput: throughput
        .filter((r) => r.consumer === consumer)
        .map((r) => ({ minute: date(r.minute)!, delivered: Number(r.delivered) })),
      activeDeadLetters: Number(deadLetters.find((r) => r.consumer === consumer)?.n ?? 0),
    };
  });
}

/** One consumer's summary; UnknownConsumerError (404) when no cursor, dead letter or heartbeat row carries the name. */
export async function consumerSummary(q: Queryable, tables: Tables, consumer: string): Promise<ConsumerSummary> {
  try {
    await assertKnownConsumer(q, tables, consumer);
  } catch (error) {
    // Listed by the overview for its heartbeat rows alone (its cursors deleted by hand, say): shown here too.
    const [row] = await q.query<{ n: number }>(instanceCountSql(tables), [consumer]);
    if (!UnknownConsumerError.isInstance(error) || Number(row?.n ?? 0) === 0) throw error;
  }
  const [summary] = await consumerSummaries(q, tables, consumer);
  return summary!;
}

/** Events published per type and minute over the last hour. */
export async function publishedTypes(q: Queryable, tables: Tables): Promise<{ published: PublishedType[]; generatedAt: Date }> {
  const rows = await q.query<{ event_type: string; minute: Date; published: number; generated_at: Date }>(publishedSql(tables));
  const byType = new Map<string, PublishedType>();
  for (const row of rows) {
    let type = byType.get(row.event_type);
    if (!type) byType.set(row.event_type, (type = { eventType: row.event_type, lastHour: 0, perMinute: [] }));
    type.perMinute.push({ minute: date(row.minute)!, published: Number(row.published) });
    type.lastHour += Number(row.published);
  }
  const generatedAt = rows[0] ? date(rows[0].generated_at)! : date((await q.query<{ now: Date }>(nowSql))[0]!.now)!;
  return { published: [...byType.values()], generatedAt };
}

export async function overview(q: Queryable, tables: Tables): Promise<Overview> {
  const [consumers, published] = await Promise.all([consumerSummaries(q, tables), publishedTypes(q, tables)]);
  return { consumers, published: published.published, generatedAt: published.generatedAt };
}
