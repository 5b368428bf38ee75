import { RetryLaterError } from "../errors/index.js";
import type { DeliveryContext } from "../fanout/batching.js";
import type { EventEnvelope } from "../envelope/index.js";
import type { NatsSession } from "./client.js";
import { toJetStreamMessage, type OutgoingMessage } from "./message.js";

type PubAck = Awaited<ReturnType<NatsSession["js"]["publish"]>>;

interface InFlight {
  eventId: string;
  message: OutgoingMessage;
  ack?: Promise<PubAck>;
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
 * in position order, without waiting for the stream. The hook then awaits their acknowledgements in
 * that order, so the cursor commits only once the stream has stored every one; a publish not
 * acknowledged (NATS down, no stream leader, a timeout) fails the transaction with RetryLaterError,
 * and the consumer machinery sends the events again. What the stream had already stored then comes
 * back as a duplicate (the duplicate window); past the window, the inbox's idempotent store drops it.
 */
export class JetStreamPublisher {
  private session: NatsSession | undefined;
  private readonly transactions = new WeakMap<DeliveryContext["beforeCommit"], Transaction>();
  /** Acknowledged publishes and how many of them the stream reported as duplicates. */
  readonly counts = { published: 0, duplicates: 0 };

  constructor(
    private readonly stream: string,
    private readonly prefix: string,
    private readonly timeoutMs: number,
  ) {}

  attach(session: NatsSession | undefined): void {
    this.session = session;
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
    const session = this.session;
    if (!session) throw new RetryLaterError("the JetStream relay is not connected");
    for (const item of transaction.items.slice(transaction.sent)) {
      const headers = session.modules.transport.headers();
      for (const [name, value] of item.message.headers) headers.set(name, value);
      item.ack = session.js.publish(item.message.subject, item.message.body, {
        msgID: item.eventId,
        headers,
        timeout: this.timeoutMs,
        expect: { streamName: this.stream },
      });
      // Awaited by the hook; until then a rejection must not count as unhandled.
      item.ack.catch(() => undefined);
    }
    transaction.sent = transaction.items.length;
  }

  /** Awaits every acknowledgement of one transaction, in publish order. */
  private async acknowledged(transaction: Transaction): Promise<void> {
    this.send(transaction);
    for (const { eventId, ack } of transaction.items) {
      let answer: PubAck;
      try {
        answer = await ack!;
      } catch (error) {
        throw new RetryLaterError(
          `JetStream did not acknowledge event ${eventId} on stream ${this.stream}: ${(error as Error)?.message}`,
          undefined,
          {
            cause: error,
          },
        );
      }
      this.counts.published += 1;
      if (answer.duplicate) this.counts.duplicates += 1;
    }
  }
}
