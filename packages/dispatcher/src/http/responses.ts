import type { DeadLetter } from "../dlq/index.js";

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8" } });
}

/** Error body: a stable code, a message for people, and the field when one is at fault. Never a stack or SQL. */
export function problem(status: number, code: string, message: string, field?: string): Response {
  return json(status, { error: field === undefined ? { code, message } : { code, message, field } });
}

export function deadLetterJson(d: DeadLetter): Record<string, unknown> {
  return {
    id: d.id,
    consumer: d.consumer,
    event_id: d.eventId,
    event_type: d.eventType,
    envelope: d.envelope,
    error_class: d.errorClass,
    error_message: d.errorMessage,
    error_stack: d.errorStack,
    fingerprint: d.fingerprint,
    attempts: d.attempts,
    first_failed_at: d.firstFailedAt.toISOString(),
    last_failed_at: d.lastFailedAt.toISOString(),
    created_at: d.createdAt.toISOString(),
    resolved_at: d.resolvedAt?.toISOString() ?? null,
    resolved_by: d.resolvedBy,
    resolution_note: d.resolutionNote,
    replay_requested_at: d.replayRequestedAt?.toISOString() ?? null,
    replay_requested_by: d.replayRequestedBy,
  };
}
