import type { CatalogEventType, DefaultSchemaVersion, Domain, EventCatalog } from "@sguild/contracts";

/** The envelope every event rides on (contracts/event-envelope/schema/envelope-v1.json). */
export interface EventEnvelope<TPayload = unknown> {
  event_id: string;
  event_type: string;
  occurred_at: string;
  tenant_id: string;
  producer: Domain | "operations";
  schema_version: number;
  payload: TPayload;
  subject?: string;
  actor?: string;
  correlation_id?: string;
}

/** Optional envelope fields a producer may set on an emit. */
export interface EmitExtras {
  /** Primary entity (`per_<uuid v7>`, `les_<uuid v7>`, ...). */
  subject?: string;
  /** `per_<uuid v7>` for a human, `system:<domain>` for automation. Default `system:<producer>`. */
  actor?: string;
  /** Originating event; stamped automatically inside a handler. */
  correlation_id?: string;
  /** When it happened (ISO 8601 or Date). Default: now. */
  occurred_at?: string | Date;
}

type VersionedEmit<K extends CatalogEventType> = {
  [V in keyof EventCatalog[K] & number]: { event_type: K; schema_version: V; payload: EventCatalog[K][V] } & EmitExtras;
}[keyof EventCatalog[K] & number];

type DefaultEmit<K extends CatalogEventType> = {
  event_type: K;
  schema_version?: undefined;
  payload: EventCatalog[K][DefaultSchemaVersion[K] & keyof EventCatalog[K]];
} & EmitExtras;

/**
 * What `dispatcher.publish` takes: an event_type from the contracts catalog and its payload,
 * checked at compile time. Without schema_version the payload is typed against the highest
 * active version (the runtime resolves the version from the registry at publish time).
 */
export type Emit = { [K in CatalogEventType]: DefaultEmit<K> | VersionedEmit<K> }[CatalogEventType];

/** Every payload version of an event type (what a subscriber may receive). */
export type AnyPayloadOf<K extends CatalogEventType> = EventCatalog[K][keyof EventCatalog[K]];
