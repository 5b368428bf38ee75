import { tablesFor } from "../config/index.js";
import { fromPgPool, openPool, type Database } from "../database/index.js";
import { PermanentFailureError, RetryLaterError } from "../errors/index.js";
import { batchingDestination, type Destination, type OutgoingEvent } from "./batching.js";
import { eventRowsJson, insertEventsSql } from "./event-rows.js";
import { httpDestination, type HttpDestinationConfig } from "./http-destination.js";
import { DEFAULTS } from "../config/defaults.js";

export type { DeliveryContext, Destination } from "./batching.js";
export { httpDestination, type HttpDestinationConfig } from "./http-destination.js";

/** Where a consumer domain receives events. */
export type DestinationConfig = { kind: "database"; databaseUrl: string; schema?: string } | HttpDestinationConfig;

/**
 * Inserts into the consumer domain's dispatcher_event, idempotent on event_id, in the source's order:
 * the events of one relay transaction in one statement just before it commits (see
 * batchingDestination), so the source cursor only moves once they are durable in the destination.
 * They come from a PostgreSQL table, so they need no storability check. A destination that cannot
 * be reached is retried as long as it takes; data PostgreSQL refuses (SQLSTATE classes 22 and 23) is
 * a permanent failure.
 */
export function databaseDestination(config: Extract<DestinationConfig, { kind: "database" }>): Destination {
  const pool = openPool(config.databaseUrl, undefined, {
    max: DEFAULTS.pools.smallMax,
    connectionTimeoutMillis: DEFAULTS.pools.connectTimeoutMs,
  });
  const database: Database = fromPgPool(pool, true);
  const sql = insertEventsSql(tablesFor(config.schema ?? "public"));
  const insert = async (events: OutgoingEvent[]) => {
    try {
      await database.query(sql, [eventRowsJson(events)]);
    } catch (error) {
      const sqlState = (error as { code?: unknown }).code;
      const message = `destination database refused or unavailable: ${(error as Error).message}`;
      if (typeof sqlState === "string" && /^2[23]/.test(sqlState))
        throw new PermanentFailureError(message, { cause: error, details: { sqlState } });
      throw new RetryLaterError(message, undefined, { cause: error });
    }
  };
  return batchingDestination(`database:${config.schema ?? "public"}`, {
    sendOne: (event) => insert([event]),
    sendBatch: insert,
    batching: () => true,
    close: () => database.close(),
  });
}

export function createDestination(config: DestinationConfig): Destination {
  return config.kind === "database" ? databaseDestination(config) : httpDestination(config);
}
