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

const dispatcherConfigErrorBrand = Symbol.for("sguild.error.DispatcherConfigError");
/** A setting is missing or malformed; the message names it and how to give it. */
export class DispatcherConfigError extends SguildError {
  private readonly [dispatcherConfigErrorBrand] = true;

  constructor(
    message: string,
    readonly setting: string,
  ) {
    super("CONFIG_INVALID", message, { details: { setting } });
  }

  static override isInstance(value: unknown): value is DispatcherConfigError {
    return SguildError.hasMarker(value, dispatcherConfigErrorBrand);
  }
}

const producerMismatchErrorBrand = Symbol.for("sguild.error.ProducerMismatchError");
/** The event_type is registered to another producer than the one this dispatcher is configured as. */
export class ProducerMismatchError extends SguildError {
  private readonly [producerMismatchErrorBrand] = true;

  constructor(
    readonly eventType: string,
    readonly registeredProducer: string,
    readonly configuredProducer: string,
  ) {
    super(
      "PRODUCER_MISMATCH",
      `"${eventType}" is produced by "${registeredProducer}" per the registry; ` +
        `this dispatcher is configured as producer "${configuredProducer}"`,
      { details: { eventType, registeredProducer, configuredProducer } },
    );
  }

  static override isInstance(value: unknown): value is ProducerMismatchError {
    return SguildError.hasMarker(value, producerMismatchErrorBrand);
  }
}

const dispatcherStateErrorBrand = Symbol.for("sguild.error.DispatcherStateError");
/** A call that does not fit the dispatcher's state (subscribe after start, start twice, ...). */
export class DispatcherStateError extends SguildError {
  private readonly [dispatcherStateErrorBrand] = true;

  constructor(message: string) {
    super("INVALID_STATE", message);
  }

  static override isInstance(value: unknown): value is DispatcherStateError {
    return SguildError.hasMarker(value, dispatcherStateErrorBrand);
  }
}

const invalidArgumentErrorBrand = Symbol.for("sguild.error.InvalidArgumentError");
/** A value passed to publish or an API call is not of the accepted shape. */
export class InvalidArgumentError extends SguildError {
  private readonly [invalidArgumentErrorBrand] = true;

  constructor(
    message: string,
    readonly argument: string,
  ) {
    super("INVALID_ARGUMENT", message, { details: { argument } });
  }

  static override isInstance(value: unknown): value is InvalidArgumentError {
    return SguildError.hasMarker(value, invalidArgumentErrorBrand);
  }
}

const payloadTooLargeErrorBrand = Symbol.for("sguild.error.PayloadTooLargeError");
/** A request body is larger than the route's `maxBodyBytes`: answered 413, the rest is never read. */
export class PayloadTooLargeError extends SguildError {
  private readonly [payloadTooLargeErrorBrand] = true;

  constructor(readonly limitBytes: number) {
    super("PAYLOAD_TOO_LARGE", `the body is larger than the limit of ${limitBytes} bytes`, { details: { limitBytes } });
  }

  static override isInstance(value: unknown): value is PayloadTooLargeError {
    return SguildError.hasMarker(value, payloadTooLargeErrorBrand);
  }
}

const eventIdConflictErrorBrand = Symbol.for("sguild.error.EventIdConflictError");
/** An event id the inbox already stored arrived with other content: answered 409, nothing is changed. */
export class EventIdConflictError extends SguildError {
  private readonly [eventIdConflictErrorBrand] = true;

  constructor(readonly eventId: string) {
    super("EVENT_ID_CONFLICT", `event ${eventId} is already stored with different content`, { details: { eventId } });
  }

  static override isInstance(value: unknown): value is EventIdConflictError {
    return SguildError.hasMarker(value, eventIdConflictErrorBrand);
  }
}

const reprocessNotConfirmedErrorBrand = Symbol.for("sguild.error.ReprocessNotConfirmedError");
/** resetCursor({ reprocess: true }) applies already-applied events again; it needs confirm set to the consumer's name. */
export class ReprocessNotConfirmedError extends SguildError {
  private readonly [reprocessNotConfirmedErrorBrand] = true;

  constructor(readonly consumer: string) {
    super("REPROCESS_NOT_CONFIRMED", `reprocess applies the rewound events of "${consumer}" again: pass confirm: "${consumer}" to do it`, {
      details: { consumer },
    });
  }

  static override isInstance(value: unknown): value is ReprocessNotConfirmedError {
    return SguildError.hasMarker(value, reprocessNotConfirmedErrorBrand);
  }
}

const transactionAbortedErrorBrand = Symbol.for("sguild.error.TransactionAbortedError");
/**
 * publish ran in a transaction that PostgreSQL has aborted (25P02): an earlier statement in it
 * failed, so nothing can be written in it. Roll it back and run the whole transaction again.
 */
export class TransactionAbortedError extends SguildError {
  private readonly [transactionAbortedErrorBrand] = true;

  constructor(options: { cause?: unknown } = {}) {
    super(
      "TRANSACTION_ABORTED",
      "the transaction passed as tx is aborted (PostgreSQL 25P02: an earlier statement in it failed); " +
        "nothing was written: roll it back and retry the whole transaction",
      options,
    );
  }

  static override isInstance(value: unknown): value is TransactionAbortedError {
    return SguildError.hasMarker(value, transactionAbortedErrorBrand);
  }
}

const unknownConsumerErrorBrand = Symbol.for("sguild.error.UnknownConsumerError");
/** No cursor and no dead letter carries this consumer name: a typo, or a consumer that never ran here (or was dropped). */
export class UnknownConsumerError extends SguildError {
  private readonly [unknownConsumerErrorBrand] = true;

  constructor(
    readonly consumer: string,
    readonly knownConsumers: readonly string[],
  ) {
    super(
      "UNKNOWN_CONSUMER",
      `unknown consumer "${consumer}": no cursor or dead letter has that name ` +
        `(known: ${knownConsumers.length ? knownConsumers.join(", ") : "none"})`,
      { details: { consumer, knownConsumers } },
    );
  }

  static override isInstance(value: unknown): value is UnknownConsumerError {
    return SguildError.hasMarker(value, unknownConsumerErrorBrand);
  }
}

const notAConsumerErrorBrand = Symbol.for("sguild.error.NotAConsumerError");
/** The registry does not list this domain as a consumer of the event type (a relay would never deliver it here). */
export class NotAConsumerError extends SguildError {
  private readonly [notAConsumerErrorBrand] = true;

  constructor(
    readonly eventType: string,
    readonly domain: string,
    readonly consumers: readonly string[],
  ) {
    super(
      "NOT_A_CONSUMER",
      `the registry does not list "${domain}" as a consumer of "${eventType}" (consumers: ${consumers.join(", ") || "none"})`,
      {
        details: { eventType, domain, consumers },
      },
    );
  }

  static override isInstance(value: unknown): value is NotAConsumerError {
    return SguildError.hasMarker(value, notAConsumerErrorBrand);
  }
}

const waitForEventTimeoutErrorBrand = Symbol.for("sguild.error.WaitForEventTimeoutError");
/** waitForEvent saw no matching event in time. */
export class WaitForEventTimeoutError extends SguildError {
  private readonly [waitForEventTimeoutErrorBrand] = true;

  constructor(
    readonly eventType: string,
    readonly timeoutMs: number,
    readonly seen: number,
  ) {
    super(
      "WAIT_FOR_EVENT_TIMEOUT",
      `no matching "${eventType}" event was stored within ${timeoutMs} ms (${seen} of that type seen, none matched)`,
      {
        details: { eventType, timeoutMs, seen },
      },
    );
  }

  static override isInstance(value: unknown): value is WaitForEventTimeoutError {
    return SguildError.hasMarker(value, waitForEventTimeoutErrorBrand);
  }
}

const schemaOutdatedErrorBrand = Symbol.for("sguild.error.SchemaOutdatedError");
/** The database lacks a migration of @sguild/prisma-fragment that this version of the dispatcher needs. */
export class SchemaOutdatedError extends SguildError {
  private readonly [schemaOutdatedErrorBrand] = true;

  constructor(
    readonly migration: string,
    readonly missing: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      "SCHEMA_OUTDATED",
      `the database lacks @sguild/prisma-fragment's migration ${migration} (${missing} is missing): ` +
        `run \`npx sguild-prisma-fragment merge\`, then apply your migrations ` +
        `(prisma migrate deploy, or \`npx sguild-prisma-fragment apply\`)`,
      { details: { migration, missing }, cause: options.cause },
    );
  }

  static override isInstance(value: unknown): value is SchemaOutdatedError {
    return SguildError.hasMarker(value, schemaOutdatedErrorBrand);
  }
}
