import { ContractValidator, type CatalogEventType, type EventCatalog, type Registry } from "@sguild/contracts";
import {
  resolveConfig,
  resolveConsumerOptions,
  type ConsumerLoopOptions,
  type DispatcherConfig,
  type ResolvedConfig,
} from "../config/index.js";
import { ConsumerLoop, type DrainOnceResult, type Handler, type StoredHandler } from "../consumer/index.js";
import { queryableFor, type PublishTransactionOf } from "../database/index.js";
import type {
  AnyPayloadOf,
  DefaultEmit,
  DefaultPayloadOf,
  Emit,
  EventEnvelope,
  UncatalogedEmit,
  UncatalogedEventType,
  VersionedEmit,
  VersionOf,
} from "../envelope/index.js";
import { DeadLetterService } from "../dlq/index.js";
import { pruneTables, type PruneOptions, type PruneResult } from "../retention/index.js";
import { consumerStatus, resetCursor, type CursorStatus, type ResetCursorOptions, type ResetCursorResult } from "../status/index.js";
import { DispatcherStateError, InvalidArgumentError } from "../errors/index.js";
import { metrics, tracing } from "../observability/index.js";
import { assertTransactionClient, buildEnvelope, EventWriter, type EmitInput } from "../producer/index.js";

/** The key of a Dispatcher's internals (Symbol.for: the ESM and CommonJS builds share it). */
export const DISPATCHER_INTERNALS: unique symbol = Symbol.for("@sguild/dispatcher/internals") as never;

export interface DispatcherInternals {
  config: ResolvedConfig;
  validator: ContractValidator;
  drainOnce(options: ConsumerLoopOptions): Promise<DrainOnceResult>;
}

export interface PublishOptions<Tx = unknown> {
  /**
   * The caller's transaction, typed after the dispatcher's client: a Prisma interactive-transaction
   * client, or a pg client inside BEGIN. Omitted: the event commits on its own.
   */
  tx?: PublishTransactionOf<Tx>;
}

interface Runtime {
  config: ResolvedConfig;
  validator: ContractValidator;
  writer: EventWriter;
  deadLetters?: DeadLetterService;
}

/**
 * One dispatcher: a producer identity, a database, handlers and at most one running consumer loop.
 * `Tx` is the transaction client of the database it was configured with (`createDispatcher` and
 * `configureDispatcher` infer it): handlers get it as `ctx.tx` and `publish` takes it as `tx`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export class Dispatcher<Tx = any> {
  private runtime: Runtime | undefined;
  private readonly handlers = new Map<string, StoredHandler[]>();
  private loop: ConsumerLoop | undefined;

  /** With a config, settings are resolved and validated now; without one, on first use from the environment. */
  constructor(private config?: DispatcherConfig) {
    if (config) this.runtime = createRuntime(config);
  }

  /** Replaces the configuration (not while a consumer loop is running). */
  configure(config: DispatcherConfig): void {
    if (this.loop) throw new DispatcherStateError("cannot reconfigure a dispatcher while it is running: stop() it first");
    const previous = this.runtime;
    this.config = config;
    this.runtime = createRuntime(config);
    void previous?.config.database.close();
  }

  private get active(): Runtime {
    this.runtime ??= createRuntime(this.config ?? {});
    return this.runtime;
  }

  /**
   * Validates and writes one event through `tx` (or on its own). Resolves to the stored envelope.
   * Throws a typed error, and writes nothing, on any refusal.
   */
  // Overloads, the catalog's default version last: a compiler that reports only the last overload's
  // error (TypeScript 7) then names the event type's own payload type.
  /** An event type not in the compiled catalog yet: `publish({ event_type: uncataloged<P>("x.y"), payload })`. */
  publish<T>(emit: UncatalogedEmit<T>, options?: PublishOptions<Tx>): Promise<EventEnvelope<T>>;
  /** At an explicit schema_version: `publish({ event_type: "credit.released", schema_version: 1, payload })`. */
  publish<K extends CatalogEventType, V extends VersionOf<K>>(
    emit: VersionedEmit<K, V>,
    options?: PublishOptions<Tx>,
  ): Promise<EventEnvelope<EventCatalog[K][V]>>;
  publish<K extends CatalogEventType>(emit: DefaultEmit<K>, options?: PublishOptions<Tx>): Promise<EventEnvelope<DefaultPayloadOf<K>>>;
  async publish(emit: Emit | UncatalogedEmit, options: PublishOptions<Tx> = {}): Promise<EventEnvelope> {
    const [envelope] = await this.publishMany([emit as Emit], options);
    return envelope!;
  }

  /** Validates every emit first, then writes them all in one statement (one round trip). */
  async publishMany(emits: readonly (Emit | UncatalogedEmit)[], options: PublishOptions<Tx> = {}): Promise<EventEnvelope[]> {
    if (!Array.isArray(emits)) throw new InvalidArgumentError("publishMany takes an array of emits", "emits");
    if (options?.tx !== undefined) assertTransactionClient(options.tx);
    const { config, validator, writer } = this.active;
    const context = { producer: config.producer, tenantId: config.tenantId, validator };
    const envelopes = emits.map((emit) => buildEnvelope(emit as EmitInput, context));
    const target = options.tx === undefined ? config.database : queryableFor(options.tx);
    const traceContext = tracing.currentContext();
    await writer.insert(
      target,
      envelopes.map((envelope) => ({ envelope, traceContext })),
    );
    const counts = new Map<string, number>();
    for (const e of envelopes) counts.set(e.event_type, (counts.get(e.event_type) ?? 0) + 1);
    for (const [eventType, n] of counts) metrics.count("dispatcher.publish.count", n, { event_type: eventType, producer: config.producer });
    return envelopes;
  }

  /**
   * Registers a handler for an event type of the contracts catalog (several per type run in order,
   * in the same transaction). The payload is typed from the catalog, or by an explicit type argument.
   */
  /** An event type not in the compiled catalog yet: `subscribe(uncataloged<P>("x.y"), handler)`. */
  subscribe<T>(eventType: UncatalogedEventType<T>, handler: Handler<T, Tx>): void;
  subscribe<K extends CatalogEventType>(eventType: K, handler: Handler<AnyPayloadOf<K>, Tx>): void;
  /** With an explicit payload type only (`subscribe<MyPayload>("credit.locked", ...)`): never inferred from the handler. */
  subscribe<T = unknown>(eventType: CatalogEventType, handler: Handler<NoInfer<T>, Tx>): void;
  subscribe(eventType: string, handler: Handler<never, Tx>): void {
    if (this.loop) throw new DispatcherStateError("subscribe() must be called before start()");
    if (typeof handler !== "function")
      throw new InvalidArgumentError("subscribe(eventType, handler): handler must be a function", "handler");
    this.active.validator.registry.getRegistration(eventType);
    const list = this.handlers.get(eventType) ?? [];
    list.push(handler as StoredHandler);
    this.handlers.set(eventType, list);
  }

  /** The registry this dispatcher validates against. */
  get registry(): Registry {
    return this.active.config.registry;
  }

  /** The producer domain this dispatcher publishes as. */
  get producer(): string {
    return this.active.config.producer;
  }

  /** Dead letters of this dispatcher's database; replay uses this dispatcher's handlers. */
  get deadLetters(): DeadLetterService {
    const runtime = this.active;
    runtime.deadLetters ??= new DeadLetterService(runtime.config.database, runtime.config.tables, () =>
      this.loop
        ? {
            consumer: this.loop.options.consumer,
            handlerTimeoutMs: this.loop.options.handlerTimeoutMs,
            handlersFor: (type) => this.handlers.get(type),
          }
        : undefined,
    );
    return runtime.deadLetters;
  }

  /** Cursor position, lag, last delivery and active dead letters per (consumer, event_type). */
  status(consumer?: string): Promise<CursorStatus[]> {
    return consumerStatus(this.active.config.database, this.active.config.tables, consumer);
  }

  /** Rewinds a consumer's cursors (to rebuild a projection); the rewound events are delivered again. */
  resetCursor(options: ResetCursorOptions): Promise<ResetCursorResult> {
    return resetCursor(this.active.config.database, this.active.config.tables, options);
  }

  /** Retention: deletes passed events, old dedup rows and old resolved dead letters, in bounded batches. */
  prune(options?: PruneOptions): Promise<PruneResult> {
    return pruneTables(this.active.config.database, this.active.config.tables, options);
  }

  /** Starts the consumer loop; resolves once it is running (cursors created, LISTEN under way). */
  async start(options: ConsumerLoopOptions): Promise<void> {
    const resolved = resolveConsumerOptions(options);
    if (this.loop) throw new DispatcherStateError("this dispatcher is already running a consumer loop");
    if (this.handlers.size === 0) throw new DispatcherStateError("start() with no subscriptions: call subscribe() first");
    const loop = new ConsumerLoop(this.active.config, this.handlers, resolved, () => this.replayRequested(resolved.consumer));
    this.loop = loop;
    try {
      await loop.start();
    } catch (error) {
      this.loop = undefined;
      throw error;
    }
  }

  /** The replays operators requested of this consumer; a failed one is logged (the letter stays active). */
  private async replayRequested(consumer: string) {
    const results = await this.deadLetters.replayRequested(consumer);
    for (const { outcome, deadLetter, error } of results) {
      if (outcome !== "failed") continue;
      this.active.config.logger.warn(
        { consumer, dead_letter_id: deadLetter.id, event_id: deadLetter.eventId, event_type: deadLetter.eventType, err: error },
        "dispatcher replay failed: the dead letter stays active",
      );
    }
    return results;
  }

  /** Stops taking new work; resolves once the batch in flight has finished. Safe to call twice. */
  async stop(): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    await loop.stop();
    this.loop = undefined;
  }

  /** stop(), then close the pool the dispatcher opened itself (never one passed in). */
  async close(): Promise<void> {
    await this.stop();
    await this.runtime?.config.database.close();
  }

  /**
   * For `@sguild/dispatcher/testing`: this dispatcher's resolved settings, and one drain of a
   * consumer without starting its loop. Not part of the API.
   */
  [DISPATCHER_INTERNALS](): DispatcherInternals {
    const runtime = this.active;
    return {
      config: runtime.config,
      validator: runtime.validator,
      drainOnce: async (options) => {
        const resolved = resolveConsumerOptions(options);
        if (this.loop) throw new DispatcherStateError("runOnce() while this dispatcher's consumer loop is running: stop() it first");
        if (this.handlers.size === 0) throw new DispatcherStateError("runOnce() with no subscriptions: call subscribe() first");
        return new ConsumerLoop(runtime.config, this.handlers, resolved).drainOnce();
      },
    };
  }

  /** The running loop, for status and tests. */
  get consumerLoop(): ConsumerLoop | undefined {
    return this.loop;
  }
}

function createRuntime(config: DispatcherConfig): Runtime {
  const resolved = resolveConfig(config);
  return { config: resolved, validator: new ContractValidator(resolved.registry), writer: new EventWriter(resolved.tables) };
}
