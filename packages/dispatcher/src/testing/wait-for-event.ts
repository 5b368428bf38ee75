import type { CatalogEventType } from "@sguild/contracts";
import { DISPATCHER_INTERNALS, type Dispatcher } from "../dispatcher/index.js";
import { toEnvelope, type EventRow } from "../consumer/event-row.js";
import type { AnyPayloadOf, EventEnvelope } from "../envelope/index.js";
import { InvalidArgumentError, WaitForEventTimeoutError } from "../errors/index.js";

export interface WaitForEventOptions<TPayload> {
  /** Only an event this returns true for. Default: the first of the type. */
  where?: (event: EventEnvelope<TPayload>) => boolean;
  /** Give up after this many ms with WaitForEventTimeoutError (WAIT_FOR_EVENT_TIMEOUT). Default 5000. */
  timeoutMs?: number;
  /** How often to look. Default 25 ms. */
  pollMs?: number;
}

const readSql = (table: string) => `SELECT id::text AS id, position::text AS position, event_id, event_type, schema_version, tenant_id,
  producer, occurred_at, subject, actor, correlation_id, payload, created_at, sequenced_at
  FROM ${table} WHERE event_type = $1 AND id > $2::bigint ORDER BY id LIMIT 500`;

/**
 * Resolves with the first committed event of `eventType` in this dispatcher's database that
 * matches `where` (stored before the call or after it): for a test that waits on code which
 * publishes in the background, or on the relay.
 */
export async function waitForEvent<K extends CatalogEventType>(
  dispatcher: Dispatcher,
  eventType: K,
  options: WaitForEventOptions<AnyPayloadOf<K>> = {},
): Promise<EventEnvelope<AnyPayloadOf<K>>> {
  const { config, validator } = dispatcher[DISPATCHER_INTERNALS]();
  validator.registry.getRegistration(eventType);
  const { where = () => true, timeoutMs = 5000, pollMs = 25 } = options;
  if (typeof where !== "function") throw new InvalidArgumentError("waitForEvent: where must be a function", "where");
  const sql = readSql(config.tables.event);
  const deadline = Date.now() + timeoutMs;
  let after = "0";
  let seen = 0;
  for (;;) {
    const rows = await config.database.query<EventRow & { id: string }>(sql, [eventType, after]);
    for (const row of rows) {
      seen += 1;
      const event = toEnvelope(row) as EventEnvelope<AnyPayloadOf<K>>;
      if (where(event)) return event;
    }
    if (rows.length > 0) after = rows[rows.length - 1]!.id;
    else if (Date.now() >= deadline) throw new WaitForEventTimeoutError(eventType, timeoutMs, seen);
    else await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(deadline - Date.now(), 1))));
  }
}
