import type { EventEnvelope } from "../envelope/index.js";
import type { CloudEventSource } from "./cloud-event.js";

/** One event on its way to a destination, with what its CloudEvent carries besides the envelope. */
export type OutgoingEvent = CloudEventSource;

export interface DeliveryContext {
  traceContext?: Record<string, string> | undefined;
  payloadSchemaPath?: string | undefined;
  /**
   * The relay's delivery transaction hook (the consumer's `ctx.beforeCommit`): one function per
   * delivery transaction, so it also tells which events travel together.
   */
  beforeCommit(key: string, fn: () => Promise<void>): void;
}

export interface Destination {
  deliver(envelope: EventEnvelope, context: DeliveryContext): Promise<void>;
  close(): Promise<void>;
}

/** How a destination moves events: alone, or several in order in one request or statement. */
export interface Transport {
  /** Sends one event; throws RetryLaterError (down: retried as long as it takes) or PermanentFailureError (refused: dead-lettered). */
  sendOne(event: OutgoingEvent): Promise<void>;
  /** Sends events in their order (in as many consecutive requests as needed); resolves only once every one was accepted. */
  sendBatch(events: OutgoingEvent[]): Promise<void>;
  /** False while the destination does not take batches: every event is then sent alone. */
  batching(): boolean;
  close(): Promise<void>;
}

/**
 * A destination that sends the events of one relay transaction together, the cursor moving only once
 * the destination accepted them all. The events of a delivery transaction are queued by their handlers
 * and sent in one batch by a beforeCommit hook, in their order. If the batch is not accepted in full
 * (an event refused, the destination down), the hook throws: nothing commits, and the consumer, whose
 * failed transaction handled two events or more, delivers them again one per transaction. Events the
 * destination had already accepted are accepted again as the same event (idempotent on event_id).
 *
 * A transaction's first event is sent alone, from its handler, unless the previous transaction of its
 * type carried several events and went through: so a transaction of one event (low traffic, the
 * consumer narrowing a failed batch down, a dead-letter replay) is delivered as before batching, and
 * its failure steers it (RetryLaterError: retried as long as it takes; PermanentFailureError:
 * dead-lettered at once), while a backlog costs one request per transaction.
 */
export function batchingDestination(name: string, transport: Transport): Destination {
  /** The open delivery transactions, by their beforeCommit hook: events queued, events handled. */
  const transactions = new WeakMap<DeliveryContext["beforeCommit"], { queue: OutgoingEvent[]; handled: number }>();
  /** Event types whose last transaction carried several events and went through: their next first event is batched too. */
  const busy = new Set<string>();
  const sendAll = async (events: OutgoingEvent[]) => {
    if (events.length === 0) return;
    if (transport.batching()) return transport.sendBatch(events);
    for (const event of events) await transport.sendOne(event);
  };
  return {
    async deliver(envelope, context) {
      const event: OutgoingEvent = { envelope, traceContext: context.traceContext, payloadSchemaPath: context.payloadSchemaPath };
      const type = envelope.event_type;
      let transaction = transactions.get(context.beforeCommit);
      if (transaction === undefined) {
        transaction = { queue: [], handled: 0 };
        transactions.set(context.beforeCommit, transaction);
      }
      transaction.handled += 1;
      if (!transport.batching() || (transaction.handled === 1 && !busy.has(type))) {
        busy.delete(type);
        // Whatever was queued goes first (batches stopped being taken during this transaction).
        await sendAll(transaction.queue.splice(0));
        await transport.sendOne(event);
        return;
      }
      const { queue } = transaction;
      const handled = () => transaction.handled;
      if (queue.length === 0) {
        context.beforeCommit(`fanout:${name}`, async () => {
          try {
            await sendAll(queue.splice(0));
          } catch (error) {
            busy.delete(type);
            throw error;
          }
          if (handled() > 1) busy.add(type);
          else busy.delete(type);
        });
      }
      queue.push(event);
    },
    close: () => transport.close(),
  };
}
