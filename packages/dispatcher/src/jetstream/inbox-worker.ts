import type { Database } from "../database/index.js";
import { EventIdConflictError } from "../errors/index.js";
import { refusal, type EventCheckContext, type Refusal } from "../fanout/inbox-checks.js";
import type { InboxStore, StoreOutcome } from "../fanout/inbox-store.js";
import type { Logger } from "../observability/index.js";
import type { StoredEvent } from "../producer/index.js";
import type { Delivery } from "./inbox-consumer.js";
import { checkMessage } from "./message.js";

/** What the inbox did since it started. */
export interface InboxCounts {
  /** Events stored into dispatcher_event. */
  stored: number;
  /** Messages whose event was already stored with the same content (a redelivery, a relay's re-publish past the duplicate window). */
  duplicates: number;
  /** Messages terminated (never delivered again), by refusal code: INVALID_CLOUDEVENT, PAYLOAD_INVALID, EVENT_ID_CONFLICT, ... */
  terminated: Record<string, number>;
  /** Transactions committed. */
  batches: number;
  /** Failed store attempts (each retried). */
  storeFailures: number;
  /** Consumers stopped at a gap in their delivery sequence and read again after ack_wait. */
  resyncs: number;
}

export interface InboxWorkerSettings {
  database: Database;
  store: InboxStore;
  checks: EventCheckContext & { prefix: string };
  batchSize: number;
  retryDelaysMs: readonly number[];
  logger: Logger;
}

const DATA_REFUSED = /^2[23]/;

/**
 * The inbox's one worker: takes what the consumers received, in arrival order (per event type, the
 * stream's order), at most batchSize messages at a time; checks each, stores the accepted ones in one
 * transaction (InboxStore: idempotent by event_id), and acknowledges after COMMIT. A failed store is
 * retried with the same messages (nothing behind them is stored first), telling JetStream they are
 * still being worked on; data PostgreSQL refuses (SQLSTATE classes 22 and 23) is narrowed down to
 * the message at fault, which is terminated.
 */
export class InboxWorker {
  private queue: Delivery[] = [];
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private running = false;
  private readonly tally: InboxCounts = { stored: 0, duplicates: 0, terminated: {}, batches: 0, storeFailures: 0, resyncs: 0 };

  constructor(private readonly settings: InboxWorkerSettings) {}

  get batchSize(): number {
    return this.settings.batchSize;
  }

  push(delivery: Delivery): void {
    this.queue.push(delivery);
    this.wake?.();
  }

  countResync(): void {
    this.tally.resyncs += 1;
  }

  counts(): InboxCounts {
    return { ...this.tally, terminated: { ...this.tally.terminated } };
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Lets the batch being stored finish; the queued messages are dropped unacknowledged (JetStream delivers them again). */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    this.queue = [];
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.queue.length === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const batch = this.queue.splice(0, this.settings.batchSize);
      try {
        await this.process(batch);
      } catch (error) {
        // Only a stop while retrying gets here: the batch stays unacknowledged.
        this.settings.logger.warn({ err: error }, "jetstream inbox: a batch was left unacknowledged");
      }
    }
  }

  private async process(batch: Delivery[]): Promise<void> {
    const accepted: Array<{ delivery: Delivery; event: StoredEvent }> = [];
    for (const delivery of batch) {
      const { msg } = delivery;
      const checked = checkMessage(
        { subject: msg.subject, data: msg.data, header: (name) => msg.headers?.get(name) },
        this.settings.checks,
      );
      if (checked.ok) accepted.push({ delivery, event: checked.event });
      else this.terminate(delivery, checked.refusal);
    }
    const outcomes = await this.storeNarrowing(accepted);
    accepted.forEach(({ delivery, event }, n) => {
      const outcome = outcomes[n]!;
      if (outcome === "stored" || outcome === "duplicate") {
        this.tally[outcome === "stored" ? "stored" : "duplicates"] += 1;
        delivery.msg.ack();
      } else if (outcome === "conflict") {
        this.terminate(delivery, refusal(409, "EVENT_ID_CONFLICT", new EventIdConflictError(event.envelope.event_id).message));
      } else {
        this.terminate(delivery, outcome);
      }
    });
  }

  /** Stores the events in one transaction; when PostgreSQL refuses the data, each alone, the refused ones becoming refusals. */
  private async storeNarrowing(accepted: Array<{ delivery: Delivery; event: StoredEvent }>): Promise<Array<StoreOutcome | Refusal>> {
    if (accepted.length === 0) return [];
    const result = await this.store(accepted);
    if (result !== "refused") return result;
    const outcomes: Array<StoreOutcome | Refusal> = [];
    for (const one of accepted) {
      const single = await this.store([one]);
      outcomes.push(
        single === "refused" ? refusal(422, "STORE_REFUSED", `PostgreSQL refused event ${one.event.envelope.event_id}`) : single[0]!,
      );
    }
    return outcomes;
  }

  /** One transaction, retried until it commits (or the worker stops); "refused" when PostgreSQL refuses the data itself. */
  private async store(items: Array<{ delivery: Delivery; event: StoredEvent }>): Promise<StoreOutcome[] | "refused"> {
    const { database, store, retryDelaysMs, logger } = this.settings;
    const events = items.map((i) => i.event);
    for (let attempt = 0; ; attempt += 1) {
      try {
        const outcomes = await database.transaction((q) => store.storeMany(q, events));
        this.tally.batches += 1;
        return outcomes;
      } catch (error) {
        const sqlState = (error as { code?: unknown })?.code;
        if (typeof sqlState === "string" && DATA_REFUSED.test(sqlState)) return "refused";
        this.tally.storeFailures += 1;
        if (!this.running) throw error;
        logger.warn({ err: error, events: events.length, attempt: attempt + 1 }, "jetstream inbox: storing a batch failed, retrying");
        // Still being worked on: JetStream must not deliver them again meanwhile.
        for (const { delivery } of items) delivery.msg.working();
        await new Promise((r) => setTimeout(r, retryDelaysMs[Math.min(attempt, retryDelaysMs.length - 1)] ?? 1000));
      }
    }
  }

  private terminate(delivery: Delivery, reason: Refusal): void {
    const { msg } = delivery;
    this.tally.terminated[reason.code] = (this.tally.terminated[reason.code] ?? 0) + 1;
    this.settings.logger.warn(
      { consumer: delivery.from.durable, subject: msg.subject, stream_sequence: msg.seq, code: reason.code, reason: reason.message },
      "jetstream inbox: message refused and terminated",
    );
    // Without a reason: servers before 2.10 take "+TERM <reason>" for an unknown ack (and deliver the message again).
    msg.term();
  }
}
