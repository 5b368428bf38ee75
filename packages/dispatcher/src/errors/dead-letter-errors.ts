import { SguildError } from "@sguild/contracts";

const deadLetterNotFoundErrorBrand = Symbol.for("sguild.error.DeadLetterNotFoundError");
export class DeadLetterNotFoundError extends SguildError {
  private readonly [deadLetterNotFoundErrorBrand] = true;

  constructor(readonly deadLetterId: string) {
    super("DEAD_LETTER_NOT_FOUND", `dead letter ${deadLetterId} does not exist`, { details: { deadLetterId } });
  }

  static override isInstance(value: unknown): value is DeadLetterNotFoundError {
    return SguildError.hasMarker(value, deadLetterNotFoundErrorBrand);
  }
}

const deadLetterAlreadyResolvedErrorBrand = Symbol.for("sguild.error.DeadLetterAlreadyResolvedError");
/** Resolution is one-shot: the dead letter was resolved already. */
export class DeadLetterAlreadyResolvedError extends SguildError {
  private readonly [deadLetterAlreadyResolvedErrorBrand] = true;

  constructor(
    readonly deadLetterId: string,
    readonly resolvedAt: Date,
    readonly resolvedBy: string | null,
  ) {
    super(
      "DEAD_LETTER_ALREADY_RESOLVED",
      `dead letter ${deadLetterId} was already resolved at ${resolvedAt.toISOString()} by ${resolvedBy ?? "unknown"}`,
      {
        details: { deadLetterId, resolvedAt: resolvedAt.toISOString(), resolvedBy },
      },
    );
  }

  static override isInstance(value: unknown): value is DeadLetterAlreadyResolvedError {
    return SguildError.hasMarker(value, deadLetterAlreadyResolvedErrorBrand);
  }
}

const noHandlerErrorBrand = Symbol.for("sguild.error.NoHandlerError");
/** Replay needs the consumer's handler for this event type, registered with subscribe(). */
export class NoHandlerError extends SguildError {
  private readonly [noHandlerErrorBrand] = true;

  constructor(readonly eventType: string) {
    super("NO_HANDLER", `no handler is subscribed for "${eventType}" on this dispatcher: replay from the process that consumes it`, {
      details: { eventType },
    });
  }

  static override isInstance(value: unknown): value is NoHandlerError {
    return SguildError.hasMarker(value, noHandlerErrorBrand);
  }
}

const replayWaitTimeoutErrorBrand = Symbol.for("sguild.error.ReplayWaitTimeoutError");
/** A replay was requested of the owning consumer, which did not perform it in time (is it running?). The request stays. */
export class ReplayWaitTimeoutError extends SguildError {
  private readonly [replayWaitTimeoutErrorBrand] = true;

  constructor(
    readonly deadLetterIds: readonly string[],
    readonly consumers: readonly string[],
    readonly timeoutMs: number,
  ) {
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

  static override isInstance(value: unknown): value is ReplayWaitTimeoutError {
    return SguildError.hasMarker(value, replayWaitTimeoutErrorBrand);
  }
}
