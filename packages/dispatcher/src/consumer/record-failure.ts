import { createHash } from "node:crypto";
import { v7 as uuidv7 } from "uuid";
import { SguildError } from "@sguild/contracts";
import { CLEAR_RETRY_STATE, type Tables } from "../config/index.js";
import type { Database } from "../database/index.js";
import { toEnvelope, type EventRow } from "./event-row.js";

export interface FailureInput {
  eventType: string;
  row: EventRow;
  error: unknown;
  attempt: number;
  /** The position right before the failing event; a moved cursor means someone else handled it. */
  previousPosition: string;
}

export type FailureOutcome = { kind: "retry"; retryInMs: number } | { kind: "dead-lettered"; deadLetterId: string } | { kind: "stale" };

// The cursor, locked, and whether this consumer already has the event (a replay of an earlier dead
// letter of it, racing this delivery, applied it meanwhile).
const lockCursorSql = (t: Tables) => `SELECT last_position::text AS last_position, failed_attempts, first_failed_at,
    EXISTS (SELECT 1 FROM ${t.dedup} d WHERE d.consumer = $1 AND d.event_id = $3) AS applied
  FROM ${t.cursor} WHERE consumer = $1 AND event_type = $2 FOR UPDATE`;

const scheduleRetrySql = (t: Tables) => `UPDATE ${t.cursor} SET failed_attempts = $3::int,
    first_failed_at = coalesce(first_failed_at, now()), retry_at = now() + ($4::float8 * interval '1 millisecond'),
    last_error = $5, updated_at = now()
  WHERE consumer = $1 AND event_type = $2`;

const insertDeadLetterSql = (t: Tables) => `INSERT INTO ${t.deadLetter}
    (id, consumer, event_id, event_type, event_position, envelope, error_class, error_message, error_stack, fingerprint,
     attempts, first_failed_at, last_failed_at)
  VALUES ($1, $2, $3, $4, $5::bigint, $6::jsonb, $7, $8, $9, $10, $11::int, coalesce($12::timestamptz, now()), now())`;

const skipPastSql = (t: Tables) => `UPDATE ${t.cursor} SET last_position = $3::bigint, ${CLEAR_RETRY_STATE}
  WHERE consumer = $1 AND event_type = $2`;

/** Error class + message with ids, numbers and quoted values folded: one bug, one fingerprint. */
export function failureFingerprint(error: unknown): { errorClass: string; message: string; stack: string | null; fingerprint: string } {
  const err = error instanceof Error ? error : new Error(String(error));
  const errorClass = err.name || "Error";
  const normalized = err.message
    .replace(/[a-z]{3,8}_[0-9a-f-]{36}/gi, "<id>")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "<uuid>")
    .replace(/"[^"]*"|'[^']*'/g, "<str>")
    .replace(/\d+(\.\d+)?/g, "<n>");
  const fingerprint = createHash("sha256").update(`${errorClass}:${normalized}`).digest("hex").slice(0, 16);
  return { errorClass, message: err.message, stack: err.stack ?? null, fingerprint };
}

/** Retry with exponential backoff plus 0-30% jitter, or dead-letter once attempts are exhausted. */
export class FailureRecorder {
  private readonly sql;

  constructor(
    private readonly database: Database,
    tables: Tables,
    private readonly consumer: string,
    private readonly retryDelaysMs: readonly number[],
  ) {
    this.sql = {
      lock: lockCursorSql(tables),
      retry: scheduleRetrySql(tables),
      insert: insertDeadLetterSql(tables),
      skip: skipPastSql(tables),
    };
  }

  record(input: FailureInput): Promise<FailureOutcome> {
    const failure = failureFingerprint(input.error);
    return this.database.transaction(async (q) => {
      const [cursor] = await q.query<{ last_position: string; failed_attempts: number; first_failed_at: Date | null; applied: boolean }>(
        this.sql.lock,
        [this.consumer, input.eventType, input.row.event_id],
      );
      // Recorded only against the state the attempt was made from: the cursor right before the event
      // with this attempt's count (not moved, rewound, or counted by a replica meanwhile), and the
      // event not applied since. Otherwise the next read decides afresh.
      if (!cursor || cursor.last_position !== input.previousPosition) return { kind: "stale" } as const;
      if (Number(cursor.failed_attempts) !== input.attempt - 1 || cursor.applied) return { kind: "stale" } as const;
      const steer = SguildError.isInstance(input.error) ? input.error.code : undefined;
      const retryLater = steer === "RETRY_LATER";
      if (retryLater || (steer !== "PERMANENT_FAILURE" && input.attempt <= this.retryDelaysMs.length)) {
        const scheduled = this.retryDelaysMs[Math.min(input.attempt, this.retryDelaysMs.length) - 1] ?? 1000;
        const requested = retryLater ? (input.error as { retryAfterMs?: number }).retryAfterMs : undefined;
        const retryInMs = (requested ?? scheduled) * (1 + Math.random() * 0.3);
        await q.query(this.sql.retry, [this.consumer, input.eventType, input.attempt, retryInMs, failure.message]);
        return { kind: "retry", retryInMs } as const;
      }
      const deadLetterId = `dlq_${uuidv7()}`;
      await q.query(this.sql.insert, [
        deadLetterId,
        this.consumer,
        input.row.event_id,
        input.eventType,
        input.row.position,
        JSON.stringify(toEnvelope(input.row)),
        failure.errorClass,
        failure.message,
        failure.stack,
        failure.fingerprint,
        input.attempt,
        cursor.first_failed_at,
      ]);
      await q.query(this.sql.skip, [this.consumer, input.eventType, input.row.position]);
      return { kind: "dead-lettered", deadLetterId } as const;
    });
  }
}
