import { tablesFor } from "../config/index.js";
import { fromPgPool, openPool, type Database } from "../database/index.js";
import type { EventEnvelope } from "../envelope/index.js";
import { PermanentFailureError, RetryLaterError } from "../errors/index.js";
import { EventWriter } from "../producer/index.js";
import { toStructuredHttp } from "./cloud-event.js";
import { signBody } from "./signature.js";

/** Where a consumer domain receives events. */
export type DestinationConfig =
  | { kind: "database"; databaseUrl: string; schema?: string }
  | { kind: "http"; url: string; key: { id: string; secret: string }; timeoutMs?: number };

export interface DeliveryContext {
  traceContext?: Record<string, string>;
  payloadSchemaPath?: string;
  /** The relay's delivery transaction hook: lets a destination write a whole batch at once. */
  beforeCommit(key: string, fn: () => Promise<void>): void;
}

export interface Destination {
  deliver(envelope: EventEnvelope, context: DeliveryContext): Promise<void>;
  close(): Promise<void>;
}

/** Inserts into the consumer domain's dispatcher_event, idempotent on event_id. */
export function databaseDestination(config: Extract<DestinationConfig, { kind: "database" }>): Destination {
  const pool = openPool(config.databaseUrl, undefined, { max: 2, connectionTimeoutMillis: 5000 });
  pool.on("error", () => undefined);
  const database: Database = fromPgPool(pool, true);
  const writer = new EventWriter(tablesFor(config.schema ?? "public"), { idempotent: true });
  // Events of one relay transaction are inserted in one statement just before it commits: the
  // source cursor only moves once they are durable in the destination.
  let pending: Array<{ envelope: EventEnvelope; traceContext?: Record<string, string> }> = [];
  const flush = async () => {
    const batch = pending;
    pending = [];
    try {
      await writer.insert(database, batch);
    } catch (error) {
      throw new RetryLaterError(`destination database unavailable: ${(error as Error).message}`, undefined, { cause: error });
    }
  };
  return {
    async deliver(envelope, context) {
      pending.push({ envelope, traceContext: context.traceContext });
      context.beforeCommit("database-destination", flush);
    },
    close: () => database.close(),
  };
}

/** POSTs a signed structured CloudEvent to the consumer domain's inbox. 4xx is permanent (but 408/429); the rest is retried. */
export function httpDestination(config: Extract<DestinationConfig, { kind: "http" }>): Destination {
  return {
    async deliver(envelope, context) {
      const message = toStructuredHttp(envelope, context);
      let response: Response;
      try {
        response = await fetch(config.url, {
          method: "POST",
          headers: { ...message.headers, ...signBody(message.body, config.key) },
          body: message.body,
          signal: AbortSignal.timeout(config.timeoutMs ?? 10_000),
        });
      } catch (error) {
        throw new RetryLaterError(`inbox ${config.url} unreachable: ${(error as Error).message}`, undefined, { cause: error });
      }
      if (response.ok) return;
      const text = (await response.text()).slice(0, 500);
      if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
        throw new PermanentFailureError(`inbox refused ${envelope.event_id} with ${response.status}: ${text}`, { details: { status: response.status } });
      }
      throw new RetryLaterError(`inbox answered ${response.status}: ${text}`);
    },
    close: async () => undefined,
  };
}

export function createDestination(config: DestinationConfig): Destination {
  return config.kind === "database" ? databaseDestination(config) : httpDestination(config);
}
