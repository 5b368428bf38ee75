import type { CatalogEventType } from "@sguild/contracts";
import { DISPATCHER_INTERNALS, type Dispatcher } from "../dispatcher/index.js";
import type { DefaultEmit, DefaultPayloadOf, EventEnvelope, UncatalogedEmit, VersionedEmit } from "../envelope/index.js";
import { NotAConsumerError } from "../errors/index.js";
import { InboxStore } from "../fanout/inbox-store.js";
import { buildEnvelope, type EmitInput } from "../producer/index.js";

/** To simulate the relay sending an event again: its `event_id` (and the same `occurred_at` and content). */
export interface Redelivery {
  /** `evt_<UUID v7>`; the same id with the same content is stored once, with other content it is EVENT_ID_CONFLICT. */
  event_id?: string;
}

/**
 * Puts another domain's event into this dispatcher's database as if the relay had delivered it:
 * the envelope is built for the type's registered producer and checked as the inbox checks it
 * (envelope, payload, and this domain among the type's consumers: NotAConsumerError), then stored
 * once. Its handlers run on the next delivery (`runOnce`, or a running consumer).
 */
export async function injectEvent<T>(dispatcher: Dispatcher, emit: UncatalogedEmit<T> & Redelivery): Promise<EventEnvelope<T>>;
export async function injectEvent<K extends CatalogEventType>(
  dispatcher: Dispatcher,
  emit: VersionedEmit<K> & Redelivery,
): Promise<EventEnvelope>;
export async function injectEvent<K extends CatalogEventType>(
  dispatcher: Dispatcher,
  emit: DefaultEmit<K> & Redelivery,
): Promise<EventEnvelope<DefaultPayloadOf<K>>>;
export async function injectEvent(dispatcher: Dispatcher, emit: EmitInput & Redelivery): Promise<EventEnvelope> {
  const { config, validator } = dispatcher[DISPATCHER_INTERNALS]();
  const registration = validator.registry.getRegistration(emit?.event_type);
  if (!(registration.consumers as string[]).includes(config.producer)) {
    throw new NotAConsumerError(emit.event_type, config.producer, registration.consumers as string[]);
  }
  const { event_id: eventId, ...rest } = emit;
  const envelope = buildEnvelope(rest, { producer: registration.producer, tenantId: config.tenantId, validator });
  if (eventId !== undefined) {
    envelope.event_id = eventId;
    validator.assertEnvelope(envelope);
  }
  await new InboxStore(config.tables, validator.registry).store(config.database, { envelope });
  return envelope;
}
