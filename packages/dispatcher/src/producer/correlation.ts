import { AsyncLocalStorage } from "node:async_hooks";
import type { EventEnvelope } from "../envelope/index.js";

/** The event a handler is processing, so publishes made inside it inherit its correlation. */
const current = new AsyncLocalStorage<EventEnvelope>();

export function runWithConsumedEvent<T>(event: EventEnvelope, fn: () => T): T {
  return current.run(event, fn);
}

/** correlation_id for a publish made now: the consumed event's correlation_id, else its event_id. */
export function inheritedCorrelationId(): string | undefined {
  const event = current.getStore();
  return event ? (event.correlation_id ?? event.event_id) : undefined;
}
