import { SguildError } from "@sguild/contracts";
import type { Database, Queryable, TransactionSession } from "../database/index.js";
import type { EventEnvelope } from "../envelope/index.js";
import { CommitFailedError, HandlerTimeoutError } from "../errors/index.js";
import { tracing } from "../observability/index.js";
import { commitHooks, runHandlers, type StoredHandler } from "./run-handlers.js";
import { TransactionGuard } from "./transaction-guard.js";

/** Why a delivery transaction did not commit. */
export type AttemptFailure =
  /** A handler threw or timed out while handling the event at `index`. */
  | { stage: "handler"; index: number; error: unknown }
  /** Every handler returned, then the transaction failed: a beforeCommit hook, the bookkeeping statement, or COMMIT itself. */
  | { stage: "commit"; error: unknown };

export type AttemptResult<T> = { ok: true; value: T } | { ok: false; failure: AttemptFailure };

export interface AttemptSettings {
  consumer: string;
  /** Each event's handlers together must finish within this. */
  handlerTimeoutMs: number;
  /** Bound of the whole transaction (Prisma's interactive-transaction timeout). */
  transactionTimeoutMs: number;
}

/**
 * One delivery transaction, shared by batch delivery and dead-letter replay: handlers run with
 * `ctx.tx` behind a guard that closes when the attempt ends; a handler past its timeout has its
 * backend work cancelled and its connection destroyed (never returned to the pool); a failure at
 * or after the last handler (hooks, bookkeeping, COMMIT) is a failed attempt, not a loop error.
 */
export class DeliveryAttempt {
  readonly guard: TransactionGuard;
  private readonly hooks = commitHooks();
  failure: AttemptFailure | undefined;
  handled = false;

  constructor(
    readonly q: Queryable,
    raw: unknown,
    readonly session: TransactionSession,
    private readonly settings: AttemptSettings,
  ) {
    this.guard = new TransactionGuard(raw, settings.consumer);
  }

  /** Runs the event's handlers; on failure records it, ends the attempt and throws (rolling back). */
  async handle(
    index: number,
    handlers: readonly StoredHandler[],
    event: EventEnvelope,
    details: { attempt: number; traceContext?: Record<string, string> | null },
  ): Promise<void> {
    this.handled = true;
    this.guard.eventId = event.event_id;
    const { consumer, handlerTimeoutMs } = this.settings;
    const attributes = {
      "messaging.system": "sguild-dispatcher",
      "messaging.destination.name": event.event_type,
      "messaging.message.id": event.event_id,
      consumer,
      attempt: details.attempt,
    };
    const ctx = {
      tx: this.guard.client,
      attempt: details.attempt,
      consumer,
      traceContext: details.traceContext ?? undefined,
      beforeCommit: this.hooks.register,
    };
    try {
      await tracing.inConsumerSpan(`${event.event_type} process`, details.traceContext ?? null, attributes, () =>
        runHandlers(handlers, event, ctx, handlerTimeoutMs),
      );
    } catch (error) {
      this.failure = { stage: "handler", index, error };
      this.guard.close();
      // The handler may still be running, in JS or in the database: stop its backend work now.
      if (error instanceof HandlerTimeoutError) this.session.abandon();
      throw error;
    }
  }

  /**
   * After the last handler: the beforeCommit hooks; handlers can no longer use ctx.tx. From here to
   * the end of COMMIT is bounded by handlerTimeoutMs too: a hook or a deferred constraint waiting on
   * a lock at COMMIT has its backend terminated like a handler past its timeout.
   */
  async beforeCommit(): Promise<void> {
    this.commitTimer = setTimeout(() => {
      this.commitTimedOut = true;
      this.guard.close();
      this.session.abandon();
    }, this.settings.handlerTimeoutMs);
    await this.hooks.run();
    this.guard.close();
  }

  /** Set once the commit phase outlived handlerTimeoutMs. */
  commitTimedOut = false;
  private commitTimer: NodeJS.Timeout | undefined;

  /** Ends the attempt: ctx.tx refuses every call from now on. */
  end(): void {
    clearTimeout(this.commitTimer);
    this.guard.close();
  }
}

/** Runs `body` as one delivery transaction and says how it ended. Errors before any handler ran are rethrown. */
export async function attemptDelivery<T>(
  database: Database,
  settings: AttemptSettings,
  body: (attempt: DeliveryAttempt) => Promise<T>,
): Promise<AttemptResult<T>> {
  let attempt: DeliveryAttempt | undefined;
  try {
    const value = await database.transaction(
      async (q, raw, session) => {
        attempt = new DeliveryAttempt(q, raw, session, settings);
        return body(attempt);
      },
      { timeoutMs: settings.transactionTimeoutMs },
    );
    return { ok: true, value };
  } catch (error) {
    // Decided from what happened, not from which error surfaced: an abandoned transaction's driver
    // may reject with its own connection error rather than the handler's.
    if (attempt?.failure) return { ok: false, failure: attempt.failure };
    if (attempt?.commitTimedOut) {
      const timedOut = new CommitFailedError(
        `the delivery transaction did not commit within ${settings.handlerTimeoutMs} ms (a beforeCommit hook or COMMIT waited)`,
        {
          cause: error,
        },
      );
      return { ok: false, failure: { stage: "commit", error: timedOut } };
    }
    if (attempt?.handled) return { ok: false, failure: { stage: "commit", error: asCommitFailure(error) } };
    throw error;
  } finally {
    attempt?.end();
  }
}

/**
 * What a failure at commit is recorded as: a hook's deliberate RetryLaterError /
 * PermanentFailureError as it is, else CommitFailedError.
 */
function asCommitFailure(error: unknown): Error {
  if (error instanceof CommitFailedError) return error;
  if (SguildError.isInstance(error) && (error.code === "RETRY_LATER" || error.code === "PERMANENT_FAILURE")) return error;
  const reason = error instanceof Error ? error.message.trim().split("\n").pop() : String(error);
  return new CommitFailedError(`the delivery transaction did not commit: ${reason}`, { cause: error });
}
