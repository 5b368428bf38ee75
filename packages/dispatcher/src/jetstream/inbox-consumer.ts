import { JetStreamTransportError } from "../errors/index.js";
import type { Logger } from "../observability/index.js";
import type { JsMsg, NatsSession } from "./client.js";

/** A received message on its way to the store, with the consumer it came from. */
export interface Delivery {
  msg: JsMsg;
  from: TypeConsumer;
}

/** One durable consumer's JetStream state, as `pending()` reports it. */
export interface InboxConsumerState {
  durable: string;
  eventType: string;
  filterSubject: string;
  /** Messages on its subject not delivered yet. */
  numPending: number;
  /** Delivered, not acknowledged yet (being stored, or lost in flight and waiting for ack_wait). */
  numAckPending: number;
  numRedelivered: number;
  /** Stream sequence below which every message was acknowledged (stored or terminated). */
  ackFloor: number;
  /** Stream sequence of the last message delivered. */
  delivered: number;
}

export interface TypeConsumerSettings {
  session: NatsSession;
  stream: string;
  batchSize: number;
  ackWaitMs: number;
  maxAckPending: number;
  startFrom: "earliest" | "new";
  pullExpiresMs: number;
  logger: Logger;
  /** Where received messages go, in the order they arrived. */
  push(delivery: Delivery): void;
  /** Counts a resynchronisation (a gap in the delivery sequence). */
  onResync(): void;
}

const NANOS_PER_MS = 1_000_000;
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * One durable pull consumer of the inbox: one event type (its subject filter), read in stream order.
 *
 * JetStream delivers again what was not acknowledged, but only after ack_wait, while newer messages
 * keep coming: a message lost on its way (a node killed, a connection dropped) would be stored after
 * the ones behind it. So the consumer checks that delivery sequences follow each other; at a gap it
 * stops reading, leaves what it has not stored unacknowledged, and reads again once ack_wait has
 * passed, when JetStream hands back the unacknowledged messages first, in stream order. It starts the
 * same way whenever messages were left unacknowledged (a crashed or stopped inbox).
 */
export class TypeConsumer {
  private messages: { close(): Promise<void | Error> } | undefined;
  private lastDelivery: number | undefined;
  /** Bumped at every stop and resync: messages of an earlier read are ignored (left unacknowledged). */
  private generation = 0;
  private abort = new AbortController();
  private running = false;

  constructor(
    readonly durable: string,
    readonly eventType: string,
    readonly filterSubject: string,
    private readonly settings: TypeConsumerSettings,
  ) {}

  /** Creates the durable consumer, or updates its ack_wait and max_ack_pending; a different filter is refused. */
  async ensure(): Promise<void> {
    const { session, stream, ackWaitMs, maxAckPending } = this.settings;
    const fail = (what: string, cause?: unknown): never => {
      throw new JetStreamTransportError("consumer", `consumer ${this.durable} of stream ${stream}: ${what}`, {
        cause,
        details: { stream, consumer: this.durable },
      });
    };
    let info;
    try {
      info = await session.jsm.consumers.info(stream, this.durable);
    } catch (error) {
      if ((error as { code?: unknown })?.code !== 10014 && !/consumer not found/i.test(String((error as Error)?.message)))
        fail("cannot read it", error);
    }
    if (!info) {
      await session.jsm.consumers
        .add(stream, {
          durable_name: this.durable,
          ack_policy: "explicit" as never,
          deliver_policy: (this.settings.startFrom === "new" ? "new" : "all") as never,
          replay_policy: "instant" as never,
          filter_subject: this.filterSubject,
          ack_wait: ackWaitMs * NANOS_PER_MS,
          max_ack_pending: maxAckPending,
          max_deliver: -1,
        })
        .catch((error: unknown) => fail("cannot create it", error));
      return;
    }
    if (info.config.filter_subject !== this.filterSubject) {
      fail(
        `it exists with filter ${String(info.config.filter_subject)}, not ${this.filterSubject}: ` +
          "delete it (nats consumer rm) or pick another durableName",
      );
    }
    if (info.config.ack_wait !== ackWaitMs * NANOS_PER_MS || info.config.max_ack_pending !== maxAckPending) {
      await session.jsm.consumers
        .update(stream, this.durable, { ack_wait: ackWaitMs * NANOS_PER_MS, max_ack_pending: maxAckPending })
        .catch((error: unknown) => fail("cannot update it", error));
    }
  }

  /** Starts reading (after ack_wait when messages were left unacknowledged). */
  start(): void {
    this.running = true;
    this.abort = new AbortController();
    void this.read(this.generation).catch((error: unknown) => this.retry(error));
  }

  private async read(generation: number): Promise<void> {
    const { session, stream, ackWaitMs, batchSize } = this.settings;
    let info = await session.jsm.consumers.info(stream, this.durable);
    if (info.num_ack_pending > 0) {
      this.settings.logger.info(
        { consumer: this.durable, unacknowledged: info.num_ack_pending, wait_ms: ackWaitMs },
        "jetstream inbox: waiting for unacknowledged messages to be delivered again before newer ones",
      );
      await sleep(ackWaitMs + 250, this.abort.signal);
      if (generation !== this.generation) return;
      info = await session.jsm.consumers.info(stream, this.durable);
    }
    if (generation !== this.generation) return;
    this.lastDelivery = info.delivered.consumer_seq;
    const consumer = await session.js.consumers.get(stream, this.durable);
    const messages = await consumer.consume({
      max_messages: batchSize,
      expires: this.settings.pullExpiresMs,
      callback: (msg) => this.receive(msg, generation),
    });
    if (generation !== this.generation) return void (await messages.close());
    this.messages = messages;
  }

  private receive(msg: JsMsg, generation: number): void {
    if (generation !== this.generation) return;
    const sequence = msg.info.deliverySequence;
    if (this.lastDelivery !== undefined && sequence > this.lastDelivery + 1) {
      this.resync(`delivery ${sequence} follows ${this.lastDelivery}: ${sequence - this.lastDelivery - 1} message(s) lost on the way`);
      return;
    }
    this.lastDelivery = sequence;
    this.settings.push({ msg, from: this });
  }

  /** Stops reading at a gap; reads again after ack_wait (see the class). Messages already pushed precede the gap. */
  private resync(reason: string): void {
    this.settings.logger.warn({ consumer: this.durable, reason }, "jetstream inbox: resynchronising the consumer");
    this.settings.onResync();
    void this.halt().then(() => {
      if (this.running) this.start();
    });
  }

  private retry(error: unknown): void {
    if (!this.running) return;
    this.settings.logger.warn({ consumer: this.durable, err: error }, "jetstream inbox: cannot read the consumer, trying again");
    const generation = this.generation;
    void sleep(1000, this.abort.signal).then(() => {
      if (this.running && generation === this.generation) this.start();
    });
  }

  private async halt(): Promise<void> {
    this.generation += 1;
    this.abort.abort();
    const messages = this.messages;
    this.messages = undefined;
    await messages?.close().catch(() => undefined);
  }

  /** Stops reading; what was received and not stored stays unacknowledged (delivered again after ack_wait). */
  async stop(): Promise<void> {
    this.running = false;
    await this.halt();
  }

  async state(): Promise<InboxConsumerState> {
    const info = await this.settings.session.jsm.consumers.info(this.settings.stream, this.durable);
    return {
      durable: this.durable,
      eventType: this.eventType,
      filterSubject: this.filterSubject,
      numPending: info.num_pending,
      numAckPending: info.num_ack_pending,
      numRedelivered: info.num_redelivered,
      ackFloor: info.ack_floor.stream_seq,
      delivered: info.delivered.stream_seq,
    };
  }
}
