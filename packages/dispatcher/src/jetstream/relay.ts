import type { ConsumerLoopOptions, DispatcherConfig } from "../config/index.js";
import { Dispatcher } from "../dispatcher/dispatcher.js";
import { uncataloged } from "../envelope/index.js";
import { DispatcherConfigError, DispatcherStateError } from "../errors/index.js";
import { closeNatsSession, openNatsSession, type NatsSession } from "./client.js";
import {
  JETSTREAM_DEFAULTS,
  jetStreamRelayConsumerName,
  resolveJetStreamConfig,
  type JetStreamConfig,
  type ResolvedJetStreamConfig,
} from "./config.js";
import { JetStreamPublisher } from "./publisher.js";
import { ensureStreamIn } from "./stream.js";

export interface JetStreamRelayOptions {
  /** The producing domain's dispatcher settings (its database, its producer name). */
  source: DispatcherConfig;
  /** NATS, credentials, TLS, the stream and the subject prefix. */
  jetstream: JetStreamConfig;
  /** Only these of the producer's event types (default: every type the registry says it produces). */
  eventTypes?: readonly string[];
  /** Create or update the stream at start (default true); false: it must exist. */
  ensureStream?: boolean;
  /** How long the acknowledgements of one transaction's publishes may take, from its beforeCommit hook. Default 10000 ms. */
  publishTimeoutMs?: number;
  /** The relay's consumer loop options (default batchSize 500, retryDelaysMs [500, 2000, 5000, 15000]). */
  consumerOptions?: Omit<ConsumerLoopOptions, "consumer">;
}

/** Per event type: what the relay has still to publish, and whether it is retrying. */
export interface JetStreamRelayPending {
  eventType: string;
  position: number;
  lagEvents: number;
  lagSeconds: number;
  retrying: boolean;
  deadLetters: number;
}

/**
 * Outbox to JetStream: a dispatcher consumer (`jetstream:<stream>`, its cursors in the producing
 * domain's database) of every event type the domain produces, publishing each event in position
 * order to `<prefix>.<tenant>.<producer>.<event_type>` and moving its cursor only once the stream
 * acknowledged the transaction's events (see JetStreamPublisher). Its position and lag are those of
 * any consumer: `sguild-dispatcher status`, the console, `pending()`.
 */
export class JetStreamRelay {
  readonly dispatcher: Dispatcher;
  /** The relay's consumer name: `jetstream:<stream name in lower case>`. */
  readonly consumer: string;
  readonly eventTypes: readonly string[];
  private readonly config: ResolvedJetStreamConfig;
  private readonly publisher: JetStreamPublisher;
  private session: NatsSession | undefined;
  private closed = false;

  constructor(private readonly options: JetStreamRelayOptions) {
    this.config = resolveJetStreamConfig(options.jetstream);
    const timeoutMs = options.publishTimeoutMs ?? JETSTREAM_DEFAULTS.publishTimeoutMs;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
      throw new DispatcherConfigError(`publishTimeoutMs must be a positive integer (got ${String(timeoutMs)})`, "publishTimeoutMs");
    }
    this.consumer = jetStreamRelayConsumerName(this.config.stream.name);
    this.publisher = new JetStreamPublisher(this.config.stream.name, this.config.subjectPrefix, timeoutMs);
    this.dispatcher = new Dispatcher(options.source);
    const { registry, producer } = this.dispatcher;
    const produced = registry.eventTypes.filter((t) => registry.getRegistration(t).producer === producer);
    for (const type of options.eventTypes ?? []) {
      if (!produced.includes(type)) {
        void this.dispatcher.close();
        throw new DispatcherConfigError(`eventTypes: "${type}" is not produced by "${producer}" per the registry`, "eventTypes");
      }
    }
    this.eventTypes = options.eventTypes ? [...options.eventTypes] : produced;
    if (this.eventTypes.length === 0) {
      void this.dispatcher.close();
      throw new DispatcherConfigError(`the registry lists no event type produced by "${producer}"`, "source.producer");
    }
    for (const type of this.eventTypes) {
      const schemaPaths = new Map(registry.getRegistration(type).schema_versions.map((v) => [v.version, v.payload_schema ?? undefined]));
      this.dispatcher.subscribe(uncataloged(type), (event, ctx) =>
        this.publisher.deliver(event, {
          traceContext: ctx.traceContext,
          payloadSchemaPath: schemaPaths.get(event.schema_version),
          beforeCommit: ctx.beforeCommit,
        }),
      );
    }
  }

  /** Connects to NATS, creates or updates the stream (unless ensureStream is false), starts the consumer loop. */
  async start(): Promise<void> {
    if (this.closed) throw new DispatcherStateError("this JetStream relay is closed");
    if (!this.session) {
      const session = await openNatsSession(this.config);
      try {
        if (this.options.ensureStream !== false) await ensureStreamIn(session, this.config);
      } catch (error) {
        await closeNatsSession(session);
        throw error;
      }
      this.session = session;
      this.publisher.attach(session);
    }
    await this.dispatcher.start({
      batchSize: JETSTREAM_DEFAULTS.relayBatchSize,
      retryDelaysMs: [...JETSTREAM_DEFAULTS.relayRetryDelaysMs],
      ...this.options.consumerOptions,
      consumer: this.consumer,
    });
  }

  /** Stops the consumer loop once the transaction in flight has finished; the connection stays open. */
  async stop(): Promise<void> {
    await this.dispatcher.stop();
  }

  /** stop(), then close the connection (flushing it) and the pool the relay opened. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.dispatcher.close();
    const session = this.session;
    this.session = undefined;
    this.publisher.attach(undefined);
    await closeNatsSession(session);
  }

  /** Publishes the stream acknowledged, and how many of them it dropped as duplicates (within its window). */
  get counts(): Readonly<{ published: number; duplicates: number }> {
    return { ...this.publisher.counts };
  }

  /** Per event type: the relay's cursor position, events still to publish and their age, retry state, dead letters. */
  async pending(): Promise<JetStreamRelayPending[]> {
    const rows = await this.dispatcher.status(this.consumer);
    return rows.map((r) => ({
      eventType: r.eventType,
      position: r.position,
      lagEvents: r.lagEvents,
      lagSeconds: r.lagSeconds,
      retrying: r.failedAttempts > 0,
      deadLetters: r.activeDeadLetters,
    }));
  }
}

export function createJetStreamRelay(options: JetStreamRelayOptions): JetStreamRelay {
  return new JetStreamRelay(options);
}
