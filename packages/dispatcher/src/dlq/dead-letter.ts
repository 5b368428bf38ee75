import type { EventEnvelope } from "../envelope/index.js";
import { InvalidArgumentError } from "../errors/index.js";

/** A dead letter as the API returns it. */
export interface DeadLetter {
  id: string;
  consumer: string;
  eventId: string;
  eventType: string;
  envelope: EventEnvelope;
  errorClass: string;
  errorMessage: string;
  errorStack: string | null;
  /** Error class + normalized message: one bug, one fingerprint. */
  fingerprint: string;
  attempts: number;
  firstFailedAt: Date;
  lastFailedAt: Date;
  createdAt: Date;
  resolvedAt: Date | null;
  resolvedBy: string | null;
  resolutionNote: string | null;
  replayRequestedAt: Date | null;
  replayRequestedBy: string | null;
}

export interface DeadLetterRow {
  id: string;
  consumer: string;
  event_id: string;
  event_type: string;
  envelope: EventEnvelope;
  error_class: string;
  error_message: string;
  error_stack: string | null;
  fingerprint: string;
  attempts: number;
  first_failed_at: Date;
  last_failed_at: Date;
  created_at: Date;
  resolved_at: Date | null;
  resolved_by: string | null;
  resolution_note: string | null;
  replay_requested_at: Date | null;
  replay_requested_by: string | null;
}

export const DEAD_LETTER_COLUMNS = `id, consumer, event_id, event_type, envelope, error_class, error_message, error_stack, fingerprint,
  attempts, first_failed_at, last_failed_at, created_at, resolved_at, resolved_by, resolution_note,
  replay_requested_at, replay_requested_by`;

const date = (value: Date | string | null): Date | null => (value === null ? null : new Date(value));

export function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    consumer: row.consumer,
    eventId: row.event_id,
    eventType: row.event_type,
    envelope: row.envelope,
    errorClass: row.error_class,
    errorMessage: row.error_message,
    errorStack: row.error_stack,
    fingerprint: row.fingerprint,
    attempts: Number(row.attempts),
    firstFailedAt: date(row.first_failed_at)!,
    lastFailedAt: date(row.last_failed_at)!,
    createdAt: date(row.created_at)!,
    resolvedAt: date(row.resolved_at),
    resolvedBy: row.resolved_by,
    resolutionNote: row.resolution_note,
    replayRequestedAt: date(row.replay_requested_at),
    replayRequestedBy: row.replay_requested_by,
  };
}

const DEAD_LETTER_ID = /^dlq_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function assertDeadLetterId(id: unknown): asserts id is string {
  if (typeof id !== "string" || !DEAD_LETTER_ID.test(id)) {
    throw new InvalidArgumentError(`dead letter id must look like dlq_<UUID> (got ${JSON.stringify(id)})`, "id");
  }
}

export function assertOperator(value: unknown, argument: string): asserts value is string {
  if (typeof value !== "string" || value.trim().length === 0 || value.length > 200) {
    throw new InvalidArgumentError(`${argument} must be a non-empty string of at most 200 characters`, argument);
  }
}
