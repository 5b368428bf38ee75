import { SguildError } from "@sguild/contracts";

const handlerTimeoutErrorBrand = Symbol.for("sguild.error.HandlerTimeoutError");
/** A handler ran longer than handlerTimeoutMs; counts as a failed attempt. */
export class HandlerTimeoutError extends SguildError {
  private readonly [handlerTimeoutErrorBrand] = true;

  constructor(
    readonly eventId: string,
    readonly timeoutMs: number,
  ) {
    super("HANDLER_TIMEOUT", `handler for ${eventId} did not finish within ${timeoutMs} ms`);
  }

  static override isInstance(value: unknown): value is HandlerTimeoutError {
    return SguildError.hasMarker(value, handlerTimeoutErrorBrand);
  }
}

const retryLaterErrorBrand = Symbol.for("sguild.error.RetryLaterError");
/**
 * Thrown by a handler to steer delivery: try again later, however many attempts that takes
 * (a destination that is down). Never dead-letters; the backoff stays at the last retry delay.
 */
export class RetryLaterError extends SguildError {
  private readonly [retryLaterErrorBrand] = true;

  constructor(
    message: string,
    readonly retryAfterMs?: number,
    options: { cause?: unknown } = {},
  ) {
    super("RETRY_LATER", message, options);
  }

  static override isInstance(value: unknown): value is RetryLaterError {
    return SguildError.hasMarker(value, retryLaterErrorBrand);
  }
}

const permanentFailureErrorBrand = Symbol.for("sguild.error.PermanentFailureError");
/** Thrown by a handler to dead-letter the event at once: retrying cannot help (a 4xx refusal). */
export class PermanentFailureError extends SguildError {
  private readonly [permanentFailureErrorBrand] = true;

  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super("PERMANENT_FAILURE", message, options);
  }

  static override isInstance(value: unknown): value is PermanentFailureError {
    return SguildError.hasMarker(value, permanentFailureErrorBrand);
  }
}

const transactionClosedErrorBrand = Symbol.for("sguild.error.TransactionClosedError");
/**
 * A handler used `ctx.tx` after its delivery attempt ended (timed out, failed or committed):
 * the query is refused, never run outside the delivery transaction.
 */
export class TransactionClosedError extends SguildError {
  private readonly [transactionClosedErrorBrand] = true;

  constructor(
    readonly eventId: string | undefined,
    readonly consumer: string,
  ) {
    super(
      "TRANSACTION_CLOSED",
      `ctx.tx of ${eventId ?? "this delivery"} (consumer "${consumer}") was used after its attempt ended; the query was refused`,
      { details: { eventId, consumer } },
    );
  }

  static override isInstance(value: unknown): value is TransactionClosedError {
    return SguildError.hasMarker(value, transactionClosedErrorBrand);
  }
}

const commitFailedErrorBrand = Symbol.for("sguild.error.CommitFailedError");
/**
 * The delivery transaction did not commit: COMMIT failed (a deferred constraint, a lost
 * connection) or PostgreSQL answered it with ROLLBACK because an earlier statement failed
 * (a handler swallowed a database error). Counts as a failed attempt.
 */
export class CommitFailedError extends SguildError {
  private readonly [commitFailedErrorBrand] = true;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super("COMMIT_FAILED", message, options);
  }

  static override isInstance(value: unknown): value is CommitFailedError {
    return SguildError.hasMarker(value, commitFailedErrorBrand);
  }
}
