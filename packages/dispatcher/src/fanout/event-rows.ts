import type { Tables } from "../config/index.js";
import type { StoredEvent } from "../producer/index.js";

/** Events as one jsonb parameter ($1) of `insertEventsSql` and `sameContentManySql`: each row numbered `n` in the order given. */
export const eventRowsJson = (events: ReadonlyArray<StoredEvent & { n?: number }>): string =>
  JSON.stringify(
    events.map(({ envelope: e, traceContext, n }, i) => ({
      n: n ?? i,
      event_id: e.event_id,
      event_type: e.event_type,
      schema_version: e.schema_version,
      tenant_id: e.tenant_id,
      producer: e.producer,
      occurred_at: e.occurred_at,
      subject: e.subject ?? null,
      actor: e.actor ?? null,
      correlation_id: e.correlation_id ?? null,
      payload: e.payload,
      trace_context: traceContext ?? null,
    })),
  );

const ROWS = `jsonb_to_recordset($1::jsonb) AS x(n int, event_id text, event_type text, schema_version int, tenant_id text, producer text,
    occurred_at timestamptz, subject text, actor text, correlation_id text, payload jsonb, trace_context jsonb)`;
const COLUMNS =
  "event_id, event_type, schema_version, tenant_id, producer, occurred_at, subject, actor, correlation_id, payload, trace_context";

/**
 * Every event in one statement, inserted in the order given (the ids, hence the positions the
 * sequencer gives them, follow it); an event_id already stored, or twice in the batch, is skipped.
 * Returns the event_id of each row inserted.
 */
export const insertEventsSql = (t: Tables) => `INSERT INTO ${t.event} (${COLUMNS})
  SELECT ${COLUMNS} FROM ${ROWS} ORDER BY x.n
  ON CONFLICT (event_id) DO NOTHING RETURNING event_id`;

/**
 * Per row given, whether the stored event under its event_id has the same content: every stored
 * column but the row id and the trace context (a relay re-sending an event may carry another trace);
 * jsonb and timestamptz compare by value. Rows without a stored event are left out.
 */
export const sameContentManySql = (
  t: Tables,
) => `SELECT x.n, (e.event_type, e.schema_version, e.tenant_id, e.producer, e.occurred_at, e.subject, e.actor, e.correlation_id, e.payload)
  IS NOT DISTINCT FROM (x.event_type, x.schema_version, x.tenant_id, x.producer, x.occurred_at, x.subject, x.actor, x.correlation_id,
    x.payload) AS same
  FROM ${ROWS} JOIN ${t.event} e ON e.event_id = x.event_id`;
