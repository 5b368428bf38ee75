import { RetryLaterError } from "../errors/index.js";
import type { DeliveryContext } from "../fanout/batching.js";
import type { EventEnvelope } from "../envelope/index.js";
import type { NatsSession } from "./client.js";
import { toJetStreamMessage } from "./message.js";

type PubAck = Awaited<ReturnType<NatsSession["js"]["publish"]>>;

interface InFlight {
  eventId: string;
  ack: Promise<PubAck>;
}

/**
 * Publishes the relay's events to the stream. A handler only sends its event (JetStream publish,
 * `Nats-Msg-Id` = event id, the stream named as expected) and returns: the publishes of one delivery
 * transaction travel back to back on the connection, in position order. The transaction's
 * beforeCommit hook then awaits their acknowledgements in that order, so the cursor commits only
 * once the stream has stored every one; a publish not acknowledged (NATS down, no stream leader, a
 * timeout) fails the transaction with RetryLaterError, and the consumer machinery sends the events
 * again. What the stream had already stored then comes back as a duplicate (the duplicate window);
 * past the window, the inbox's idempotent store drops it.
 */
export class JetStreamPublisher {
  private session: NatsSession | undefined;
  private readonly transactions = new WeakMap<DeliveryContext["beforeCommit"], InFlight[]>();
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
    const session = this.session;
    if (!session) throw new RetryLaterError("the JetStream relay is not connected");
    const message = toJetStreamMessage(
      { envelope, traceContext: context.traceContext, payloadSchemaPath: context.payloadSchemaPath },
      this.prefix,
    );
    const headers = session.modules.transport.headers();
    for (const [name, value] of message.headers) headers.set(name, value);
    const ack = session.js.publish(message.subject, message.body, {
      msgID: envelope.event_id,
      headers,
      timeout: this.timeoutMs,
      expect: { streamName: this.stream },
    });
    // Awaited by the hook; until then a rejection must not count as unhandled.
    ack.catch(() => undefined);
    let inFlight = this.transactions.get(context.beforeCommit);
    if (inFlight === undefined) {
      const list: InFlight[] = [];
      inFlight = list;
      this.transactions.set(context.beforeCommit, list);
      context.beforeCommit(`jetstream:${this.stream}`, () => this.acknowledged(list));
    }
    inFlight.push({ eventId: envelope.event_id, ack });
  }

  /** Awaits every acknowledgement of one transaction, in publish order. */
  private async acknowledged(inFlight: readonly InFlight[]): Promise<void> {
    for (const { eventId, ack } of inFlight) {
      let answer: PubAck;
      try {
        answer = await ack;
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
