import { SguildError } from "@sguild/contracts";
import type { DeadLetter } from "../dlq/index.js";

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8" } });
}

/** Error body: a stable code, a message for people, and the field when one is at fault. Never a stack or SQL. */
export function problem(status: number, code: string, message: string, field?: string): Response {
  return json(status, { error: field === undefined ? { code, message } : { code, message, field } });
}

/** The field an error names (a SguildError's `argument` detail), spelled as the routes spell fields: snake_case. */
export function errorField(error: unknown): string | undefined {
  const argument = SguildError.isInstance(error) ? error.details?.["argument"] : undefined;
  return typeof argument === "string" && argument !== "" ? argument.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : undefined;
}

/** A dead letter in snake_case, with its stack (the CLI, run by an operator on the host). */
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

/** A dead letter as the HTTP routes answer it: without `error_stack` (it names files) unless `exposeErrorStack`. */
export function deadLetterResponseJson(d: DeadLetter, exposeErrorStack: boolean): Record<string, unknown> {
  const { error_stack: stack, ...rest } = deadLetterJson(d);
  return exposeErrorStack ? { ...rest, error_stack: stack } : rest;
}
