import type { EventEnvelope } from "../envelope/index.js";

/** An event as the consumer reads it: the envelope plus its bookkeeping columns. */
export interface EventRow {
  position: string;
  event_id: string;
  event_type: string;
  schema_version: number;
  tenant_id: string;
  producer: string;
  /** A Date or timestamp text, or epoch milliseconds (the consumer's own read). */
  occurred_at: Date | string | number;
  subject: string | null;
  actor: string | null;
  correlation_id: string | null;
  payload: unknown;
  trace_context?: Record<string, string> | null;
  created_at: Date | string | number;
  sequenced_at: Date | string | number | null;
}

export function toEnvelope(row: EventRow): EventEnvelope {
  const envelope: EventEnvelope = {
    event_id: row.event_id,
    event_type: row.event_type,
    occurred_at: new Date(row.occurred_at).toISOString(),
    tenant_id: row.tenant_id,
    producer: row.producer as EventEnvelope["producer"],
    schema_version: Number(row.schema_version),
    payload: row.payload,
  };
  if (row.subject !== null) envelope.subject = row.subject;
  if (row.actor !== null) envelope.actor = row.actor;
  if (row.correlation_id !== null) envelope.correlation_id = row.correlation_id;
  return envelope;
}
