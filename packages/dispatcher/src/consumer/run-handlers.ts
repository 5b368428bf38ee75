import type { AnyTransactionClient } from "../database/index.js";
import type { EventEnvelope } from "../envelope/index.js";
import { HandlerTimeoutError } from "../errors/index.js";
import { runWithConsumedEvent } from "../producer/index.js";

export interface HandlerContext<Tx = AnyTransactionClient> {
  /**
   * The delivery's transaction, typed after the client the dispatcher was configured with: Prisma's
   * interactive-transaction client, or a pg PoolClient. Write through it; after the attempt has
   * ended every call on it throws TransactionClosedError.
   */
  tx: Tx;
  /** 1 on first delivery, then 2, 3, ... on retries and replays. */
  attempt: number;
  consumer: string;
  /** The W3C trace context stored with the event by its publisher, if any. */
  traceContext?: Record<string, string> | undefined;
  /**
   * Runs `fn` once after every handler of this delivery transaction, before it commits (for
   * batching a write per transaction). A throw fails the whole transaction.
   */
  beforeCommit(key: string, fn: () => Promise<void>): void;
}

export type Handler<TPayload = unknown, Tx = AnyTransactionClient> = (
  event: EventEnvelope<TPayload>,
  ctx: HandlerContext<Tx>,
) => Promise<void> | void;

/** A handler as the dispatcher keeps it: payload and transaction types erased (checked at subscribe). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type StoredHandler = Handler<unknown, any>;

/** Runs an event's handlers in order, each bounded by `timeoutMs`, with the event as correlation context. */
export function runHandlers(
  handlers: readonly StoredHandler[],
  event: EventEnvelope,
  ctx: HandlerContext<unknown>,
  timeoutMs: number,
): Promise<void> {
  return runWithConsumedEvent(event, async () => {
    for (const handler of handlers) {
      const started = performance.now();
      const result = handler(event, ctx);
      // A handler that returned without a promise has finished: no timer is needed to bound it. One
      // that did gets what is left of its time: the work it did before returning the promise counts.
      if (isThenable(result)) await withTimeout(result, timeoutMs - (performance.now() - started), timeoutMs, event.event_id);
    }
  });
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as { then?: unknown }).then === "function";

/** Settles as `promise` does, or rejects with HandlerTimeoutError after `leftMs`: one timer, no race. */
function withTimeout<T>(promise: PromiseLike<T>, leftMs: number, timeoutMs: number, eventId: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new HandlerTimeoutError(eventId, timeoutMs)), Math.max(leftMs, 0));
    // Promise.resolve: a native promise as it is; any other thenable (one whose then() throws too) adopted safely.
    Promise.resolve(promise).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** The `beforeCommit` hooks of one delivery transaction: registered once per key, run in order. */
export function commitHooks(): { register: HandlerContext<unknown>["beforeCommit"]; run(): Promise<void> } {
  const hooks = new Map<string, () => Promise<void>>();
  return {
    register: (key, fn) => void (hooks.has(key) || hooks.set(key, fn)),
    run: async () => {
      for (const hook of hooks.values()) await hook();
    },
  };
}
