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

/** The schema versions of `K` that have a payload type. */
export type VersionOf<K extends CatalogEventType> = keyof EventCatalog[K] & number;

/** The payload of `K` a publish without schema_version is typed against: the highest active version's. */
export type DefaultPayloadOf<K extends CatalogEventType> = EventCatalog[K][DefaultSchemaVersion[K] & keyof EventCatalog[K]];

/** An emit of `K` at an explicit schema_version `V`. */
export type VersionedEmit<K extends CatalogEventType, V extends VersionOf<K> = VersionOf<K>> = {
  [W in V]: { event_type: K; schema_version: W; payload: EventCatalog[K][W] } & EmitExtras;
}[V];

/** An emit of `K` without schema_version: the default version's payload. */
export type DefaultEmit<K extends CatalogEventType> = {
  event_type: K;
  schema_version?: undefined;
  payload: DefaultPayloadOf<K>;
} & EmitExtras;

/**
 * What `dispatcher.publish` takes: an event_type from the contracts catalog and its payload,
 * checked at compile time. Without schema_version the payload is typed against the highest
 * active version (the runtime resolves the version from the registry at publish time).
 */
export type Emit = { [K in CatalogEventType]: EmitOf<K> }[CatalogEventType];

/** An emit of one event type: its default version's payload, or an explicit schema_version and that version's payload. */
export type EmitOf<K extends CatalogEventType> = DefaultEmit<K> | VersionedEmit<K>;

declare const uncatalogedBrand: unique symbol;

/**
 * An event type the compiled contracts catalog does not know yet (a custom registry, a type being
 * added): made with `uncataloged<Payload>("acme.thing.happened")`. The runtime still checks it
 * against the configured registry; only the compiler steps aside.
 */
export type UncatalogedEventType<TPayload = unknown> = string & { readonly [uncatalogedBrand]: TPayload };

/** An emit of an uncataloged event type, with the payload type given to `uncataloged<T>()`. */
export type UncatalogedEmit<TPayload = unknown> = {
  event_type: UncatalogedEventType<TPayload>;
  schema_version?: number;
  payload: TPayload;
} & EmitExtras;

/**
 * The escape hatch for event types not yet in the compiled catalog: `subscribe(uncataloged<P>("x.y"), handler)`
 * and `publish({ event_type: uncataloged<P>("x.y"), payload })`. Returns the string unchanged.
 */
export function uncataloged<TPayload = unknown>(eventType: string): UncatalogedEventType<TPayload> {
  return eventType as UncatalogedEventType<TPayload>;
}

/** Every payload version of an event type (what a subscriber may receive). */
export type AnyPayloadOf<K extends CatalogEventType> = EventCatalog[K][keyof EventCatalog[K]];
