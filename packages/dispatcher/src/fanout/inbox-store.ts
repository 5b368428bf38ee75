import type { Registry } from "@sguild/contracts";
import type { Tables } from "../config/index.js";
import type { Queryable } from "../database/index.js";
import { EventIdConflictError } from "../errors/index.js";
import { EventWriter, envelopeValues, type StoredEvent } from "../producer/index.js";

// What makes two sends "the same event": every stored column but the row id and the trace context
// (a relay re-sending an event may carry another trace). jsonb and timestamptz compare by value.
const sameContentSql = (t: Tables) => `SELECT (event_type, schema_version, tenant_id, producer, occurred_at, subject, actor, correlation_id, payload)
  IS NOT DISTINCT FROM ($2::text, $3::int, $4::text, $5::text, $6::timestamptz, $7::text, $8::text, $9::text, $10::jsonb) AS same
  FROM ${t.event} WHERE event_id = $1`;

/**
 * Stores an inbox event once. The insert skips an event_id already stored; the stored row is then
 * compared with what arrived: the same content is the idempotent re-send, other content is an
 * EventIdConflictError and the stored row is left as it was.
 */
export class InboxStore {
  private readonly writer: EventWriter;
  private readonly sameContent: string;

  /** The registry lets the writer refuse payload dates PostgreSQL cannot store before its INSERT. */
  constructor(tables: Tables, registry: Registry) {
    this.writer = new EventWriter(tables, { idempotent: true, registry });
    this.sameContent = sameContentSql(tables);
  }

  async store(q: Queryable, event: StoredEvent): Promise<void> {
    await this.writer.insert(q, [event]);
    const [row] = await q.query<{ same: boolean }>(this.sameContent, envelopeValues(event.envelope));
    if (row && row.same !== true) throw new EventIdConflictError(event.envelope.event_id);
  }
}
