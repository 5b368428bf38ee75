import pg from "pg";
import { DOMAINS, loadRegistry, type Domain, type Registry } from "@sguild/contracts";
import { quoteSchema } from "@sguild/prisma-fragment";
import { fromPgPool, fromPrisma, openPool, type Database, type PrismaLike } from "../database/index.js";
import { DispatcherConfigError } from "../errors/index.js";
import { defaultLogger, type Logger } from "../observability/logger.js";

/** Everything `configureDispatcher` / `createDispatcher` accepts. */
export interface DispatcherConfig {
  /** This domain, from the closed domain set. Fallback: DISPATCHER_PRODUCER. */
  producer?: Domain;
  /** Tenant stamped on every envelope. Fallback: DISPATCHER_TENANT_ID. */
  tenantId?: string;
  /** The domain's own PrismaClient (with @prisma/adapter-pg). Publishes without `tx` and consumer transactions use it. */
  prismaClient?: PrismaLike;
  /** A pg Pool, for domains not on Prisma. */
  pool?: pg.Pool;
  /** Postgres URL: a pool is opened on it when neither prismaClient nor pool is given, and LISTEN uses it. Fallback: DATABASE_URL. */
  databaseUrl?: string;
  /** Postgres schema holding the dispatcher tables. Default `public`. */
  schema?: string;
  /**
   * pino-compatible logger. Default: warnings and errors to the console (consoleLogger at
   * DISPATCHER_LOG_LEVEL, default warn); `silentLogger` mutes it.
   */
  logger?: Logger;
  /** Registry to validate against: a loaded Registry or a path to event-types-registry.json. Default: the bundled one. */
  registry?: Registry | string;
}

/** The cursor columns that say an event is being retried, set back to "no failure" (SET list of dispatcher_cursor). */
export const CLEAR_RETRY_STATE = "failed_attempts = 0, first_failed_at = NULL, retry_at = NULL, last_error = NULL, updated_at = now()";

/** Takes the transaction-scoped advisory lock of key $1 (one of the keys below); a column, as Prisma reads no `void`. */
export const ADVISORY_LOCK_SQL = "SELECT 1 AS locked FROM pg_advisory_xact_lock(hashtext($1))";

/**
 * The lock taken first by what moves a cursor back (resetCursor) and by each batch of prune's event
 * deletion. A prune batch's DELETE then sees every rewind committed before it (and keeps the events
 * put back in front of a cursor); a rewind sees every event deleted before it.
 */
export const rewindLockKey = (t: Tables) => `sguild.dispatcher_rewind:${t.cursor}`;

/**
 * The lock of one consumer's life: every heartbeat of its replicas takes it shared, dropConsumer
 * exclusively. A replica starting while the consumer is dropped waits, then starts afresh; one whose
 * first heartbeat committed first is seen as live, and the drop refuses.
 */
export const consumerLockKey = (t: Tables, consumer: string) => `sguild.dispatcher_consumer:${t.instance}:${consumer}`;

export interface Tables {
  event: string;
  cursor: string;
  dedup: string;
  deadLetter: string;
  sequence: string;
  /** dispatcher_events_after(type, after, limit): a type's next events in position order, by the index whatever the statistics. */
  eventsAfter: string;
  /** One row per running consumer loop: its heartbeat. */
  instance: string;
}

export interface ResolvedConfig {
  producer: Domain;
  tenantId: string;
  schema: string;
  tables: Tables;
  database: Database;
  /** URL for the dedicated LISTEN connection; undefined means poll-only. */
  listenUrl: string | undefined;
  logger: Logger;
  registry: Registry;
}

const env = (name: string): string | undefined => process.env[name] || undefined;

export function tablesFor(schema: string): Tables {
  const s = quoteSchema(schema);
  return {
    event: `${s}."dispatcher_event"`,
    cursor: `${s}."dispatcher_cursor"`,
    dedup: `${s}."dispatcher_dedup"`,
    deadLetter: `${s}."dispatcher_dead_letter"`,
    sequence: `${s}."dispatcher_sequence"`,
    eventsAfter: `${s}."dispatcher_events_after"`,
    instance: `${s}."dispatcher_consumer_instance"`,
  };
}

/** Resolves settings and fallbacks once; every missing or malformed setting is refused here, by name. */
export function resolveConfig(config: DispatcherConfig = {}): ResolvedConfig {
  const producer = config.producer ?? env("DISPATCHER_PRODUCER");
  if (!producer) {
    throw new DispatcherConfigError("producer is not set: pass configureDispatcher({ producer }) or set DISPATCHER_PRODUCER", "producer");
  }
  if (!(DOMAINS as readonly string[]).includes(producer)) {
    throw new DispatcherConfigError(`producer "${producer}" is not one of ${DOMAINS.join(", ")}`, "producer");
  }
  const tenantId = config.tenantId ?? env("DISPATCHER_TENANT_ID");
  if (!tenantId) {
    throw new DispatcherConfigError("tenantId is not set: pass configureDispatcher({ tenantId }) or set DISPATCHER_TENANT_ID", "tenantId");
  }
  if (tenantId.length > 64) throw new DispatcherConfigError("tenantId is longer than 64 characters", "tenantId");
  // Every envelope carries it: refused here, not at each publish (PostgreSQL stores no NUL or lone surrogate).
  if (
    tenantId.trim() === "" ||
    /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(tenantId)
  ) {
    throw new DispatcherConfigError(
      `tenantId must be printable text, not blank, without control characters or lone surrogates (got ${JSON.stringify(tenantId)})`,
      "tenantId",
    );
  }
  const schema = config.schema ?? "public";
  let tables: Tables;
  try {
    tables = tablesFor(schema);
  } catch (cause) {
    throw new DispatcherConfigError((cause as Error).message, "schema");
  }
  const databaseUrl = config.databaseUrl ?? env("DATABASE_URL");
  let database: Database;
  const logger = config.logger ?? defaultLogger();
  if (config.prismaClient) database = fromPrisma(config.prismaClient, logger);
  else if (config.pool) database = fromPgPool(config.pool, false, logger);
  else if (databaseUrl) database = fromPgPool(openPool(databaseUrl, logger), true, logger);
  else {
    throw new DispatcherConfigError(
      "no database: pass configureDispatcher({ prismaClient }) or ({ pool }) or ({ databaseUrl }), or set DATABASE_URL",
      "database",
    );
  }
  const poolUrl = (config.pool as (pg.Pool & { options?: { connectionString?: string } }) | undefined)?.options?.connectionString;
  const registry = typeof config.registry === "string" ? loadRegistry(config.registry) : (config.registry ?? loadRegistry());
  return {
    producer: producer as Domain,
    tenantId,
    schema,
    tables,
    database,
    listenUrl: databaseUrl ?? poolUrl,
    logger,
    registry,
  };
}
