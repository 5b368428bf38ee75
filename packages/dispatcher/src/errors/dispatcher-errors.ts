import { SguildError } from "@sguild/contracts";

export {
  SguildError as DispatcherError,
  UnknownEventTypeError,
  SchemaVersionError,
  PayloadValidationError,
  EnvelopeValidationError,
  RegistryError,
  type ValidationIssue,
} from "@sguild/contracts";

/** A setting is missing or malformed; the message names it and how to give it. */
export class DispatcherConfigError extends SguildError {
  constructor(message: string, readonly setting: string) {
    super("CONFIG_INVALID", message, { details: { setting } });
  }
}

/** The event_type is registered to another producer than the one this dispatcher is configured as. */
export class ProducerMismatchError extends SguildError {
  constructor(readonly eventType: string, readonly registeredProducer: string, readonly configuredProducer: string) {
    super(
      "PRODUCER_MISMATCH",
      `"${eventType}" is produced by "${registeredProducer}" per the registry; this dispatcher is configured as producer "${configuredProducer}"`,
      { details: { eventType, registeredProducer, configuredProducer } },
    );
  }
}

/** A call that does not fit the dispatcher's state (subscribe after start, start twice, ...). */
export class DispatcherStateError extends SguildError {
  constructor(message: string) {
    super("INVALID_STATE", message);
  }
}

/** A handler ran longer than handlerTimeoutMs; counts as a failed attempt. */
export class HandlerTimeoutError extends SguildError {
  constructor(readonly eventId: string, readonly timeoutMs: number) {
    super("HANDLER_TIMEOUT", `handler for ${eventId} did not finish within ${timeoutMs} ms`);
  }
}

/** A value passed to publish or an API call is not of the accepted shape. */
export class InvalidArgumentError extends SguildError {
  constructor(message: string, readonly argument: string) {
    super("INVALID_ARGUMENT", message, { details: { argument } });
  }
}

export class DeadLetterNotFoundError extends SguildError {
  constructor(readonly deadLetterId: string) {
    super("DEAD_LETTER_NOT_FOUND", `dead letter ${deadLetterId} does not exist`, { details: { deadLetterId } });
  }
}

/** Resolution is one-shot: the dead letter was resolved already. */
export class DeadLetterAlreadyResolvedError extends SguildError {
  constructor(readonly deadLetterId: string, readonly resolvedAt: Date, readonly resolvedBy: string | null) {
    super("DEAD_LETTER_ALREADY_RESOLVED", `dead letter ${deadLetterId} was already resolved at ${resolvedAt.toISOString()} by ${resolvedBy ?? "unknown"}`, {
      details: { deadLetterId, resolvedAt: resolvedAt.toISOString(), resolvedBy },
    });
  }
}

/** Replay needs the consumer's handler for this event type, registered with subscribe(). */
export class NoHandlerError extends SguildError {
  constructor(readonly eventType: string) {
    super("NO_HANDLER", `no handler is subscribed for "${eventType}" on this dispatcher: replay from the process that consumes it`, {
      details: { eventType },
    });
  }
}

/**
 * Thrown by a handler to steer delivery: try again later, however many attempts that takes
 * (a destination that is down). Never dead-letters; the backoff stays at the last retry delay.
 */
export class RetryLaterError extends SguildError {
  constructor(message: string, readonly retryAfterMs?: number, options: { cause?: unknown } = {}) {
    super("RETRY_LATER", message, options);
  }
}

/** Thrown by a handler to dead-letter the event at once: retrying cannot help (a 4xx refusal). */
export class PermanentFailureError extends SguildError {
  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super("PERMANENT_FAILURE", message, options);
  }
}

/**
 * A handler used `ctx.tx` after its delivery attempt ended (timed out, failed or committed):
 * the query is refused, never run outside the delivery transaction.
 */
export class TransactionClosedError extends SguildError {
  constructor(readonly eventId: string | undefined, readonly consumer: string) {
    super(
      "TRANSACTION_CLOSED",
      `ctx.tx of ${eventId ?? "this delivery"} (consumer "${consumer}") was used after its attempt ended; the query was refused`,
      { details: { eventId, consumer } },
    );
  }
}

/**
 * The delivery transaction did not commit: COMMIT failed (a deferred constraint, a lost
 * connection) or PostgreSQL answered it with ROLLBACK because an earlier statement failed
 * (a handler swallowed a database error). Counts as a failed attempt.
 */
export class CommitFailedError extends SguildError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("COMMIT_FAILED", message, options);
  }
}

/** A request body is larger than the route's `maxBodyBytes`: answered 413, the rest is never read. */
export class PayloadTooLargeError extends SguildError {
  constructor(readonly limitBytes: number) {
    super("PAYLOAD_TOO_LARGE", `the body is larger than the limit of ${limitBytes} bytes`, { details: { limitBytes } });
  }
}

/** An event id the inbox already stored arrived with other content: answered 409, nothing is changed. */
export class EventIdConflictError extends SguildError {
  constructor(readonly eventId: string) {
    super("EVENT_ID_CONFLICT", `event ${eventId} is already stored with different content`, { details: { eventId } });
  }
}

/** resetCursor({ reprocess: true }) applies already-applied events again; it needs confirm set to the consumer's name. */
export class ReprocessNotConfirmedError extends SguildError {
  constructor(readonly consumer: string) {
    super("REPROCESS_NOT_CONFIRMED", `reprocess applies the rewound events of "${consumer}" again: pass confirm: "${consumer}" to do it`, {
      details: { consumer },
    });
  }
}

/**
 * publish ran in a transaction that PostgreSQL has aborted (25P02): an earlier statement in it
 * failed, so nothing can be written in it. Roll it back and run the whole transaction again.
 */
export class TransactionAbortedError extends SguildError {
  constructor(options: { cause?: unknown } = {}) {
    super(
      "TRANSACTION_ABORTED",
      "the transaction passed as tx is aborted (PostgreSQL 25P02: an earlier statement in it failed); nothing was written: roll it back and retry the whole transaction",
      options,
    );
  }
}

/** No cursor and no dead letter carries this consumer name: a typo, or a consumer that never ran here (or was dropped). */
export class UnknownConsumerError extends SguildError {
  constructor(readonly consumer: string, readonly knownConsumers: readonly string[]) {
    super(
      "UNKNOWN_CONSUMER",
      `unknown consumer "${consumer}": no cursor or dead letter has that name (known: ${knownConsumers.length ? knownConsumers.join(", ") : "none"})`,
      { details: { consumer, knownConsumers } },
    );
  }
}

/** A replay was requested of the owning consumer, which did not perform it in time (is it running?). The request stays. */
export class ReplayWaitTimeoutError extends SguildError {
  constructor(readonly deadLetterIds: readonly string[], readonly consumers: readonly string[], readonly timeoutMs: number) {
    const one = deadLetterIds.length === 1;
    const names = consumers.map((c) => `"${c}"`).join(", ");
    super(
      "REPLAY_WAIT_TIMEOUT",
      `${one ? `replay of ${deadLetterIds[0]} was` : `${deadLetterIds.length} replays were`} not performed within ${timeoutMs / 1000}s: ` +
        `${consumers.length === 1 ? `is consumer ${names}` : `are consumers ${names}`} running? ` +
        `The ${one ? "request stays" : "requests stay"}: the consumer replays ${one ? "it" : "them"} once it runs`,
      { details: { deadLetterIds, consumers, timeoutMs } },
    );
  }
}

/** The registry does not list this domain as a consumer of the event type (a relay would never deliver it here). */
export class NotAConsumerError extends SguildError {
  constructor(readonly eventType: string, readonly domain: string, readonly consumers: readonly string[]) {
    super("NOT_A_CONSUMER", `the registry does not list "${domain}" as a consumer of "${eventType}" (consumers: ${consumers.join(", ") || "none"})`, {
      details: { eventType, domain, consumers },
    });
  }
}

/** waitForEvent saw no matching event in time. */
export class WaitForEventTimeoutError extends SguildError {
  constructor(readonly eventType: string, readonly timeoutMs: number, readonly seen: number) {
    super("WAIT_FOR_EVENT_TIMEOUT", `no matching "${eventType}" event was stored within ${timeoutMs} ms (${seen} of that type seen, none matched)`, {
      details: { eventType, timeoutMs, seen },
    });
  }
}

/** The database lacks a migration of @sguild/prisma-fragment that this version of the dispatcher needs. */
export class SchemaOutdatedError extends SguildError {
  constructor(readonly migration: string, readonly missing: string) {
    super(
      "SCHEMA_OUTDATED",
      `the database lacks @sguild/prisma-fragment's migration ${migration} (${missing} is missing): run \`npx sguild-prisma-fragment merge\`, then apply your migrations (prisma migrate deploy, or \`npx sguild-prisma-fragment apply\`)`,
      { details: { migration, missing } },
    );
  }
}
