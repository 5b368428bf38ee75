import { ContractValidator, DOMAINS, type Domain } from "@sguild/contracts";
import { resolveConfig, type DispatcherConfig, type ResolvedConfig } from "../config/index.js";
import { DispatcherConfigError, DispatcherStateError } from "../errors/index.js";
import type { EventCheckContext } from "../fanout/inbox-checks.js";
import { InboxStore } from "../fanout/inbox-store.js";
import { closeNatsSession, openNatsSession, type NatsSession } from "./client.js";
import {
  JETSTREAM_DEFAULTS,
  resolveJetStreamConfig,
  SUBJECT_TOKEN,
  subjectFor,
  type JetStreamConfig,
  type ResolvedJetStreamConfig,
} from "./config.js";
import { TypeConsumer, type Delivery, type InboxConsumerState } from "./inbox-consumer.js";
import { InboxWorker, type InboxCounts } from "./inbox-worker.js";
import { ensureStreamIn } from "./stream.js";

export type { InboxConsumerState } from "./inbox-consumer.js";
export type { InboxCounts } from "./inbox-worker.js";

export interface JetStreamInboxOptions {
  /** The consuming domain's dispatcher settings: where accepted events are stored (its dispatcher_event). */
  target: DispatcherConfig;
  /** The consuming domain; default `target.producer` (DISPATCHER_PRODUCER). */
  domain?: Domain;
  /** NATS, credentials, TLS, the stream and the subject prefix (the relay's). */
  jetstream: JetStreamConfig;
  /** Prefix of the durable consumers' names, one per event type (`<durableName>_<event_type with _ for .>`). Default `sguild-<domain>`. */
  durableName?: string;
  /** Tenant ids whose events are accepted (their subjects are read). Default: the target's tenantId. */
  tenants?: readonly string[];
  /** Only these of the event types the registry lists the domain as a consumer of (default: all of them). */
  eventTypes?: readonly string[];
  /** Most messages stored in one transaction. Default 500. */
  batchSize?: number;
  /** JetStream delivers a message again when it was not acknowledged within this. Default 30000 ms. */
  ackWaitMs?: number;
  /** Messages one consumer may hold unacknowledged. Default 2000. */
  maxAckPending?: number;
  /**
   * How long one pull request waits on the server (the client pulls again before it ends; its heartbeats
   * are half of it). After a connection loss the client checks its consumers, backing off by this long
   * while JetStream is unavailable (a whole cluster restarting). Default 10000 ms (the client's minimum is 1000).
   */
  pullExpiresMs?: number;
  /** Where a consumer created now starts: "earliest" (the whole stream, default) or "new". */
  startFrom?: "earliest" | "new";
  /** Create or update the stream at start (default true). */
  ensureStream?: boolean;
  /** Retry delays after a failed store (database down), in ms; the last one repeats. Default [200, 1000, 5000]. */
  storeRetryDelaysMs?: readonly number[];
}

const positive = (value: number | undefined, fallback: number, setting: string): number => {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new DispatcherConfigError(`${setting} must be a positive integer (got ${String(value)})`, setting);
  return value;
};

/**
 * JetStream to the consuming domain's dispatcher_event: one durable pull consumer per event type the
 * registry lists the domain as a consumer of (subject `<prefix>.<tenant>.<producer>.<event_type>`:
 * a server before 2.10 filters a consumer on one subject only), read in stream order (see
 * TypeConsumer). One worker stores what they receive, in arrival order, a batch per transaction,
 * through the signed inbox's checks and idempotent store (see InboxWorker), and acknowledges each
 * message only after COMMIT; a message that fails the checks is terminated, logged and counted.
 * Local consumers subscribe to the events in the domain's own table as to any other.
 */
export class JetStreamInbox {
  readonly domain: Domain;
  readonly eventTypes: readonly string[];
  private readonly config: ResolvedJetStreamConfig;
  private readonly target: ResolvedConfig;
  private readonly worker: InboxWorker;
  private readonly consumers: TypeConsumer[] = [];
  private readonly durablePrefix: string;
  private readonly tenants: readonly string[];
  private session: NatsSession | undefined;
  private state: "idle" | "running" | "closed" = "idle";

  constructor(private readonly options: JetStreamInboxOptions) {
    this.config = resolveJetStreamConfig(options.jetstream);
    this.target = resolveConfig(options.target);
    const domain = options.domain ?? this.target.producer;
    if (!(DOMAINS as readonly string[]).includes(domain))
      throw new DispatcherConfigError(`domain "${domain}" is not one of ${DOMAINS.join(", ")}`, "domain");
    this.domain = domain;
    const registry = this.target.registry;
    const consumed = registry.eventTypes.filter((t) => {
      const r = registry.getRegistration(t);
      return r.producer !== domain && (r.consumers as string[]).includes(domain);
    });
    for (const type of options.eventTypes ?? []) {
      if (!consumed.includes(type))
        throw new DispatcherConfigError(`eventTypes: the registry does not list "${domain}" as a consumer of "${type}"`, "eventTypes");
    }
    this.eventTypes = options.eventTypes ? [...options.eventTypes] : consumed;
    if (this.eventTypes.length === 0)
      throw new DispatcherConfigError(`the registry lists "${domain}" as a consumer of no other domain's event type`, "domain");
    this.tenants = options.tenants ?? [this.target.tenantId];
    if (this.tenants.length === 0 || this.tenants.some((t) => typeof t !== "string" || !SUBJECT_TOKEN.test(t))) {
      throw new DispatcherConfigError(
        `tenants must be NATS subject tokens (letters, digits, "_" and "-"): ${JSON.stringify(this.tenants)}`,
        "tenants",
      );
    }
    this.durablePrefix = options.durableName ?? `sguild-${domain}`;
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(this.durablePrefix)) {
      throw new DispatcherConfigError(
        `durableName must be letters, digits, "_" or "-" (got ${JSON.stringify(this.durablePrefix)})`,
        "durableName",
      );
    }
    const validator = new ContractValidator(registry);
    const checks: EventCheckContext = {
      domain,
      validator,
      // The signed inbox's settings, of which the checks read the tenants and the keys' producers (none here).
      settings: { secrets: {}, keyProducers: {}, tenants: new Set(this.tenants), toleranceMs: 0, maxBodyBytes: 0, maxBatchEvents: 0 },
      keyId: "jetstream",
    };
    this.worker = new InboxWorker({
      database: this.target.database,
      store: new InboxStore(this.target.tables, registry),
      checks: { ...checks, prefix: this.config.subjectPrefix },
      batchSize: positive(options.batchSize, JETSTREAM_DEFAULTS.inboxBatchSize, "batchSize"),
      retryDelaysMs: options.storeRetryDelaysMs ?? JETSTREAM_DEFAULTS.storeRetryDelaysMs,
      logger: this.target.logger,
    });
  }

  /** Connects, creates the stream (unless ensureStream is false) and the durable consumers, and starts reading. */
  async start(): Promise<void> {
    if (this.state === "running") throw new DispatcherStateError("this JetStream inbox is already running");
    if (this.state === "closed") throw new DispatcherStateError("this JetStream inbox is closed");
    if (!this.session) {
      const session = await openNatsSession(this.config);
      try {
        if (this.options.ensureStream !== false) await ensureStreamIn(session, this.config);
        this.createConsumers(session);
        for (const consumer of this.consumers) await consumer.ensure();
      } catch (error) {
        this.consumers.splice(0);
        await closeNatsSession(session);
        throw error;
      }
      this.session = session;
    }
    this.state = "running";
    this.worker.start();
    for (const consumer of this.consumers) consumer.start();
  }

  private createConsumers(session: NatsSession): void {
    const registry = this.target.registry;
    const settings = {
      session,
      stream: this.config.stream.name,
      batchSize: this.worker.batchSize,
      ackWaitMs: positive(this.options.ackWaitMs, JETSTREAM_DEFAULTS.ackWaitMs, "ackWaitMs"),
      maxAckPending: positive(this.options.maxAckPending, JETSTREAM_DEFAULTS.maxAckPending, "maxAckPending"),
      startFrom: this.options.startFrom ?? "earliest",
      pullExpiresMs: Math.max(1000, positive(this.options.pullExpiresMs, JETSTREAM_DEFAULTS.pullExpiresMs, "pullExpiresMs")),
      logger: this.target.logger,
      push: (delivery: Delivery) => this.worker.push(delivery),
      onResync: () => this.worker.countResync(),
    };
    for (const type of this.eventTypes) {
      const tenant = this.tenants.length === 1 ? this.tenants[0]! : "*";
      const filter = subjectFor(this.config.subjectPrefix, tenant, registry.getRegistration(type).producer, type);
      this.consumers.push(new TypeConsumer(`${this.durablePrefix}_${type.replace(/\./g, "_")}`, type, filter, settings));
    }
  }

  /** Stops reading, lets the batch being stored finish; what is queued stays unacknowledged (delivered again after ack_wait). */
  async stop(): Promise<void> {
    if (this.state !== "running") return;
    this.state = "idle";
    await Promise.all(this.consumers.map((c) => c.stop()));
    await this.worker.stop();
  }

  /** stop(), then close the NATS connection and the pool the inbox opened (never one passed in). */
  async close(): Promise<void> {
    if (this.state === "closed") return;
    await this.stop();
    this.state = "closed";
    const session = this.session;
    this.session = undefined;
    await closeNatsSession(session);
    await this.target.database.close();
  }

  /** Stored, duplicates, terminated (by refusal code), batches and resynchronisations since start. */
  get counts(): InboxCounts {
    return this.worker.counts();
  }

  /** Per durable consumer, JetStream's view: messages not delivered yet (num_pending), unacknowledged, the ack floor. */
  async pending(): Promise<InboxConsumerState[]> {
    if (!this.session) throw new DispatcherStateError("pending() needs a started inbox (it asks JetStream)");
    return Promise.all(this.consumers.map((c) => c.state()));
  }
}

export function createJetStreamInbox(options: JetStreamInboxOptions): JetStreamInbox {
  return new JetStreamInbox(options);
}
