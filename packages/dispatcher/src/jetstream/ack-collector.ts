import type { NatsSession } from "./client.js";

/** The stream's answer to one publish. */
export interface PublishAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

interface Waiter {
  resolve: (ack: PublishAck) => void;
  reject: (error: Error) => void;
}

type Reply = { subject: string; data: Uint8Array; headers?: { code?: number; description?: string } };

const decoder = new TextDecoder();

/**
 * Publishes to JetStream and collects the acknowledgements on one subscription (`<inbox>.<n>` as
 * each publish's reply subject), instead of the client's `js.publish`, which builds a request, a
 * timer and a reply mapping per message: measured here, the relay's CPU per event fell from about
 * 90 to 30 µs, and raw publishing through a three-node cluster went from 8,000 to 15,000-19,000
 * messages/s. Timeouts are the caller's: one deadline per transaction (see JetStreamPublisher).
 */
export class AckCollector {
  private readonly waiting = new Map<number, Waiter>();
  private readonly prefix: string;
  private readonly subscription: { unsubscribe(): void };
  private next = 0;

  constructor(private readonly session: NatsSession) {
    this.prefix = `${session.modules.transport.createInbox()}.`;
    this.subscription = session.connection.subscribe(`${this.prefix}*`, {
      callback: (_error, message) => this.settle(message as unknown as Reply),
    });
  }

  /** Sends one message (Nats-Msg-Id and Nats-Expected-Stream in `headers`); resolves with the stream's acknowledgement. */
  publish(
    subject: string,
    body: string | Uint8Array,
    headers: ReturnType<NatsSession["modules"]["transport"]["headers"]>,
  ): { id: number; ack: Promise<PublishAck> } {
    const id = ++this.next;
    const ack = new Promise<PublishAck>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.session.connection.publish(subject, body, { reply: `${this.prefix}${id}`, headers });
    return { id, ack };
  }

  /** Stops waiting for these publishes (their transaction gave up); a late acknowledgement is ignored. */
  forget(ids: Iterable<number>, reason: Error): void {
    for (const id of ids) {
      const waiter = this.waiting.get(id);
      if (!waiter) continue;
      this.waiting.delete(id);
      waiter.reject(reason);
    }
  }

  /** Unsubscribes; every publish still waiting is rejected with `reason`. */
  close(reason: Error): void {
    this.subscription.unsubscribe();
    this.forget([...this.waiting.keys()], reason);
  }

  private settle(reply: Reply): void {
    const id = Number(reply.subject.slice(this.prefix.length));
    const waiter = this.waiting.get(id);
    if (!waiter) return;
    this.waiting.delete(id);
    if (reply.data.length === 0 && reply.headers?.code === 503) {
      waiter.reject(new Error("no responders: no stream takes this subject, or the stream has no leader"));
      return;
    }
    try {
      const answer = JSON.parse(decoder.decode(reply.data)) as {
        stream?: string;
        seq?: number;
        duplicate?: boolean;
        error?: { code?: number; err_code?: number; description?: string };
      };
      if (answer.error) {
        waiter.reject(new Error(`${answer.error.description ?? "JetStream error"} (${answer.error.err_code ?? answer.error.code ?? "?"})`));
      } else if (!answer.stream) {
        waiter.reject(new Error("invalid acknowledgement: no stream named"));
      } else {
        waiter.resolve({ stream: answer.stream, seq: Number(answer.seq), duplicate: answer.duplicate === true });
      }
    } catch (error) {
      waiter.reject(new Error(`invalid acknowledgement: ${(error as Error).message}`));
    }
  }
}
