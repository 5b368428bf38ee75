import { RetryLaterError } from "../errors/index.js";
import type { DeliveryContext } from "../fanout/batching.js";
import type { EventEnvelope } from "../envelope/index.js";
import { AckCollector, type PublishAck } from "./ack-collector.js";
import type { NatsSession } from "./client.js";
import { toJetStreamMessage, type OutgoingMessage } from "./message.js";

interface InFlight {
  eventId: string;
  message: OutgoingMessage;
  sent?: { id: number; ack: Promise<PublishAck> };
}

/** One delivery transaction's publishes: those sent (`sent` of them) and those queued behind. */
interface Transaction {
  items: InFlight[];
  sent: number;
}

/**
 * Publishes are sent this many at a time, back to back in one synchronous loop: the client writes
 * them in one socket write instead of one per event (the consumer loop awaits between handlers).
 */
const SEND_CHUNK = 100;

/**
 * Publishes the relay's events to the stream. A handler queues its event's message (subject,
 * CloudEvents headers, `Nats-Msg-Id` = event id, the stream named as expected); every SEND_CHUNK
 * queued messages, and the rest at the transaction's beforeCommit hook, are published back to back,
 * in position order, without waiting for the stream (their acknowledgements come back on one
 * subscription, see AckCollector). The hook then awaits the acknowledgements in that order, so the
 * cursor commits only once the stream has stored every one; a publish not acknowledged within
 * timeoutMs of the hook's start (NATS down, no stream leader) fails the transaction with RetryLaterError,
 * and the consumer machinery sends the events again. What the stream had already stored then comes
 * back as a duplicate (the duplicate window); past the window, the inbox's idempotent store drops it.
 */
export class JetStreamPublisher {
  private session: NatsSession | undefined;
  private collector: AckCollector | undefined;
  private readonly transactions = new WeakMap<DeliveryContext["beforeCommit"], Transaction>();
  /** Acknowledged publishes and how many of them the stream reported as duplicates. */
  readonly counts = { published: 0, duplicates: 0 };

  constructor(
    private readonly stream: string,
    private readonly prefix: string,
    private readonly timeoutMs: number,
  ) {}

  attach(session: NatsSession | undefined): void {
    this.collector?.close(new Error("the JetStream relay closed its connection"));
    this.session = session;
    this.collector = session && new AckCollector(session);
  }

  deliver(envelope: EventEnvelope, context: DeliveryContext): void {
    if (!this.session) throw new RetryLaterError("the JetStream relay is not connected");
    const message = toJetStreamMessage(
      { envelope, traceContext: context.traceContext, payloadSchemaPath: context.payloadSchemaPath },
      this.prefix,
    );
    let transaction = this.transactions.get(context.beforeCommit);
    if (transaction === undefined) {
      const created: Transaction = { items: [], sent: 0 };
      transaction = created;
      this.transactions.set(context.beforeCommit, created);
      context.beforeCommit(`jetstream:${this.stream}`, () => this.acknowledged(created));
    }
    transaction.items.push({ eventId: envelope.event_id, message });
    if (transaction.items.length - transaction.sent >= SEND_CHUNK) this.send(transaction);
  }

  /** Publishes what the transaction has queued, in order, without waiting for the stream. */
  private send(transaction: Transaction): void {
    const { session, collector } = this;
    if (!session || !collector) throw new RetryLaterError("the JetStream relay is not connected");
    for (const item of transaction.items.slice(transaction.sent)) {
      const headers = session.modules.transport.headers();
      for (const [name, value] of item.message.headers) headers.set(name, value);
      headers.set("Nats-Msg-Id", item.eventId);
      headers.set("Nats-Expected-Stream", this.stream);
      item.sent = collector.publish(item.message.subject, item.message.body, headers);
      // Awaited by the hook; until then a rejection must not count as unhandled.
      item.sent.ack.catch(() => undefined);
    }
    transaction.sent = transaction.items.length;
  }

  /** Awaits every acknowledgement of one transaction, in publish order, for at most timeoutMs. */
  private async acknowledged(transaction: Transaction): Promise<void> {
    this.send(transaction);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no acknowledgement within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      for (const { eventId, sent } of transaction.items) {
        let answer: PublishAck;
        try {
          answer = await Promise.race([sent!.ack, deadline]);
        } catch (error) {
          const reason = new RetryLaterError(
            `JetStream did not acknowledge event ${eventId} on stream ${this.stream}: ${(error as Error)?.message}`,
            undefined,
            { cause: error },
          );
          this.collector?.forget(
            transaction.items.flatMap((item) => (item.sent ? [item.sent.id] : [])),
            reason,
          );
          throw reason;
        }
        this.counts.published += 1;
        if (answer.duplicate) this.counts.duplicates += 1;
      }
    } finally {
      clearTimeout(timer);
    }
  }
}
