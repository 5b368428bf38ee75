import type { Queryable } from "../database/index.js";
import type { EventEnvelope } from "../envelope/index.js";
import type { Registry } from "@sguild/contracts";
import type { Tables } from "../config/index.js";
import { checkedEnvelopes } from "./build-envelope.js";
import { assertStorable } from "./storable.js";
import { writeError } from "./transaction-client.js";

// Idempotent variant: an event_id already stored is skipped (cross-domain delivery, redelivery).
const onConflict = (idempotent: boolean) => (idempotent ? "\n  ON CONFLICT (event_id) DO NOTHING" : "");

const insertOneSql = (t: Tables, idempotent: boolean) => `INSERT INTO ${t.event}
  (event_id, event_type, schema_version, tenant_id, producer, occurred_at, subject, actor, correlation_id, payload, trace_context)
  VALUES ($1, $2, $3::int, $4, $5, $6::timestamptz, $7, $8, $9, $10::jsonb, $11::jsonb)${onConflict(idempotent)}`;

// Many rows in one statement and one round trip; order of the array is the order of ids.
const insertManySql = (t: Tables, idempotent: boolean) => `INSERT INTO ${t.event}
  (event_id, event_type, schema_version, tenant_id, producer, occurred_at, subject, actor, correlation_id, payload, trace_context)
  SELECT event_id, event_type, schema_version, tenant_id, producer, occurred_at, subject, actor, correlation_id, payload, trace_context
  FROM jsonb_to_recordset($1::jsonb) AS x(event_id text, event_type text, schema_version int, tenant_id text, producer text,
    occurred_at timestamptz, subject text, actor text, correlation_id text, payload jsonb, trace_context jsonb)${onConflict(idempotent)}`;

export interface StoredEvent {
  envelope: EventEnvelope;
  traceContext?: Record<string, string> | undefined;
}

export class EventWriter {
  private readonly one: string;
  private readonly many: string;
  private readonly table: string;
  private readonly registry: Registry | undefined;

  /** With `registry`, events that did not come through buildEnvelope (the inbox) have their payload dates checked too. */
  constructor(tables: Tables, options: { idempotent?: boolean; registry?: Registry } = {}) {
    this.one = insertOneSql(tables, options.idempotent ?? false);
    this.many = insertManySql(tables, options.idempotent ?? false);
    this.table = tables.event;
    this.registry = options.registry;
  }

  /**
   * Refuses, before any SQL, an event PostgreSQL could not store (a validation error naming the
   * field); a transaction that is already aborted is a TransactionAbortedError.
   */
  async insert(q: Queryable, events: StoredEvent[]): Promise<void> {
    if (events.length === 0) return;
    for (const { envelope, traceContext } of events) {
      assertStorable(envelope, traceContext, { registry: this.registry, envelopeChecked: checkedEnvelopes.has(envelope) });
    }
    try {
      await this.write(q, events);
    } catch (error) {
      throw writeError(error, this.table);
    }
  }

  private async write(q: Queryable, events: StoredEvent[]): Promise<void> {
    if (events.length === 1) {
      const { envelope: e, traceContext } = events[0]!;
      await q.query(this.one, [...envelopeValues(e), traceContext ? JSON.stringify(traceContext) : null]);
      return;
    }
    const rows = events.map(({ envelope: e, traceContext }) => ({
      ...e,
      subject: e.subject ?? null,
      actor: e.actor ?? null,
      correlation_id: e.correlation_id ?? null,
      trace_context: traceContext ?? null,
    }));
    await q.query(this.many, [JSON.stringify(rows)]);
  }
}

/** An envelope's columns as bound parameters $1..$10, in table order (event_id .. payload). */
export function envelopeValues(e: EventEnvelope): unknown[] {
  return [
    e.event_id,
    e.event_type,
    e.schema_version,
    e.tenant_id,
    e.producer,
    e.occurred_at,
    e.subject ?? null,
    e.actor ?? null,
    e.correlation_id ?? null,
    JSON.stringify(e.payload),
  ];
}
