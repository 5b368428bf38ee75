import type { TransactionClient } from "../database/index.js";
import { TransactionClosedError } from "../errors/index.js";

/**
 * The `ctx.tx` a handler receives: the delivery transaction's client behind a gate that closes
 * when the attempt ends (timed out, failed or committed). Every call after that is refused with
 * TransactionClosedError, so a handler that outlives its attempt can never write outside it
 * (a late write on a pg client would otherwise autocommit on a pooled connection).
 * Works for a pg client (`query`) and a Prisma transaction client (model delegates, `$queryRaw`, ...).
 */
export class TransactionGuard {
  private open = true;
  private currentEventId: string | undefined;
  private readonly wrapped = new WeakMap<object, unknown>();
  readonly client: TransactionClient;

  constructor(
    raw: TransactionClient,
    private readonly consumer: string,
  ) {
    this.client = this.wrap(raw);
  }

  /** The event whose handlers are running now (named in the error). */
  set eventId(value: string | undefined) {
    this.currentEventId = value;
  }

  get isOpen(): boolean {
    return this.open;
  }

  close(): void {
    this.open = false;
  }

  /** A refused call: a rejected promise, or, for pg's callback form, the error to the callback and no promise (as pg does). */
  private refuse(args: unknown[]): Promise<never> | undefined {
    const error = new TransactionClosedError(this.currentEventId, this.consumer);
    const callback = args[args.length - 1];
    if (typeof callback === "function") {
      queueMicrotask(() => (callback as (e: Error) => void)(error));
      return undefined;
    }
    return Promise.reject(error);
  }

  private wrap(target: object): TransactionClient {
    if (target === null || (typeof target !== "object" && typeof target !== "function")) return target;
    const cached = this.wrapped.get(target);
    if (cached) return cached;
    const guard = this;
    const proxy = new Proxy(target, {
      get(object, property, receiver) {
        const value = Reflect.get(object, property, receiver);
        if (typeof property === "symbol" || property === "then") return value;
        if (typeof value === "function") {
          return function guarded(this: unknown, ...args: unknown[]) {
            if (!guard.open) return guard.refuse(args);
            return value.apply(object, args);
          };
        }
        // Prisma model delegates (tx.lead.create) are objects of functions.
        if (value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof Date)) return guard.wrap(value);
        return value;
      },
    });
    this.wrapped.set(target, proxy);
    return proxy;
  }
}
