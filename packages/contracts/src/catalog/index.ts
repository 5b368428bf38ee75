import type { DefaultSchemaVersion, EventCatalog } from "./generated.js";

export type { EventCatalog, DefaultSchemaVersion } from "./generated.js";
export type * from "./generated.js";

/** Every event_type that has at least one payload schema. */
export type CatalogEventType = keyof EventCatalog;

/** The payload of `T` at version `V` (default: the highest active version). */
export type PayloadOf<
  T extends CatalogEventType,
  V extends keyof EventCatalog[T] = DefaultSchemaVersion[T] & keyof EventCatalog[T],
> = EventCatalog[T][V];
