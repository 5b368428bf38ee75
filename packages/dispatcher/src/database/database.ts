import { createHash } from "node:crypto";
import pg from "pg";
import { CommitFailedError, InvalidArgumentError } from "../errors/index.js";
import { silentLogger, type Logger } from "../observability/logger.js";
import { cancelRunningStatement, terminateBackend } from "./cancel.js";
import { DEFAULTS } from "../config/defaults.js";

/**
 * The one database seam: everything in the dispatcher runs SQL through `query(text, values)`.
 * Values are only ever bound as $n parameters. Unstable: adapters may gain methods.
 */
export interface Queryable {
  query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<Row[]>;
}

/** What a caller may pass as `tx`, and what a handler receives as `ctx.tx`. */
export type TransactionClient = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One transaction's connection, as the code running in it sees it. */
export interface TransactionSession {
  /** Backend pid of the connection (pg: known at once; Prisma: set by the caller from a query). */
  pid: number | undefined;
  /**
   * Gives the transaction up without waiting for what runs in it: its backend is terminated (its
   * running statement or lock wait ends, what it wrote is rolled back, its locks are released) and
   * the connection is destroyed, never rolled back on and reused. `transaction()` settles only
   * once the backend has exited, so whatever runs next never finds its locks still held.
   */
  abandon(): void;
}

export interface Database extends Queryable {
  /** Runs `fn` in one transaction; `raw` is the driver's own transaction client (for handlers). */
  transaction<T>(
    fn: (q: Queryable, raw: TransactionClient, session: TransactionSession) => Promise<T>,
    options?: { timeoutMs?: number },
  ): Promise<T>;
  close(): Promise<void>;
}

/** The slice of a Prisma client (or interactive-transaction client) the dispatcher uses. */
export interface PrismaLike {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
  $transaction?: (fn: (tx: PrismaLike) => Promise<unknown>, options?: { timeout?: number; maxWait?: number }) => Promise<unknown>;
}

export function isPrismaLike(value: unknown): value is PrismaLike {
  return typeof (value as PrismaLike | undefined)?.$queryRawUnsafe === "function";
}

function isPgQueryable(value: unknown): value is pg.ClientBase {
  return typeof (value as pg.ClientBase | undefined)?.query === "function";
}

const prismaQueryable = (client: PrismaLike): Queryable => ({
  query: async <Row>(text: string, values: unknown[] = []) => (await client.$queryRawUnsafe<Row[]>(text, ...values)) ?? [],
});

// The dispatcher's SQL is a small fixed set of texts: each runs as a named prepared statement,
// planned once per connection instead of on every call.
const statementNames = new Map<string, string>();
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `sguild_${createHash("sha1").update(text).digest("hex").slice(0, 16)}`;
    statementNames.set(text, name);
  }
  return name;
}

const pgQueryable = (client: pg.ClientBase | pg.Pool): Queryable => ({
  query: async <Row>(text: string, values: unknown[] = []) =>
    (await client.query({ name: statementName(text), text, values })).rows as Row[],
});

/** A Queryable over a caller's transaction: a Prisma interactive-transaction client or a pg client inside BEGIN. */
export function queryableFor(tx: unknown): Queryable {
  if (isPrismaLike(tx)) return prismaQueryable(tx);
  if (isPgQueryable(tx)) return pgQueryable(tx);
  throw new InvalidArgumentError(
    "tx must be the client of your transaction: the `tx` of prisma.$transaction(async (tx) => ...), or a pg client after BEGIN",
    "tx",
  );
}

// Waits (up to 5 s) for the backend to exit: its locks are released when this returns.
const TERMINATE_SQL = `SELECT pg_terminate_backend($1::int, ${DEFAULTS.transactions.terminateWaitMs}) AS terminated`;
const COMMIT_PROBE_SQL = "SELECT 1 AS ok";

export function fromPrisma(client: PrismaLike, logger: Logger = silentLogger): Database {
  if (typeof client.$transaction !== "function") {
    throw new InvalidArgumentError("prismaClient must be a PrismaClient (it has no $transaction)", "prismaClient");
  }
  const transaction = client.$transaction.bind(client);
  return {
    ...prismaQueryable(client),
    transaction: async (fn, options = {}) => {
      let ended: Promise<unknown> | undefined;
      const session: TransactionSession = {
        pid: undefined,
        abandon() {
          if (ended || session.pid === undefined) return;
          // The transaction's connection is busy (or Prisma's ROLLBACK would queue behind the running
          // statement): end its backend from another connection of the pool. Prisma discards it.
          ended = client
            .$queryRawUnsafe(TERMINATE_SQL, session.pid)
            .catch((err: unknown) =>
              logger.error({ err, pid: session.pid }, "dispatcher could not terminate an abandoned transaction's backend"),
            );
        },
      };
      try {
        return (await transaction(
          async (tx) => {
            const q = prismaQueryable(tx);
            const result = await fn(q, tx, session);
            // Prisma's COMMIT does not say when PostgreSQL rolled back instead (a statement in the
            // transaction had failed and the error was swallowed); a last statement does: 25P02.
            await q.query(COMMIT_PROBE_SQL);
            return result;
          },
          { timeout: options.timeoutMs ?? DEFAULTS.transactions.prismaTimeoutMs, maxWait: DEFAULTS.transactions.prismaMaxWaitMs },
        )) as never;
      } finally {
        await ended;
      }
    },
    close: async () => undefined,
  };
}

/**
 * Every client of a pool the dispatcher uses keeps an 'error' listener for its whole life. pg-pool
 * listens only while a client is idle, and a query only while it runs: a connection terminated while
 * a client is checked out between two queries emitted 'error' with no listener and killed the
 * process (seen once in the chaos test: 57P01 on a consumer's pool). The client is then not
 * queryable, so its next query fails and the usual paths (retry, a new connection) take over.
 */
const guardedPools = new WeakSet<pg.Pool>();
function guardClients(pool: pg.Pool, logger: Logger): void {
  if (guardedPools.has(pool)) return;
  guardedPools.add(pool);
  pool.on("connect", (client) => client.on("error", (err) => logger.debug({ err }, "dispatcher pool client connection error")));
}

export function fromPgPool(pool: pg.Pool, owned: boolean, logger: Logger = silentLogger): Database {
  // An idle client losing its connection must not crash the process; the next query reconnects.
  if (pool.listenerCount("error") === 0) pool.on("error", (err) => logger.warn({ err }, "dispatcher pool connection lost"));
  guardClients(pool, logger);
  return {
    ...pgQueryable(pool),
    transaction: async (fn) => {
      const client = await pool.connect();
      let broken = false;
      let released = false;
      let abandoned = false;
      // A connection lost while checked out emits 'error' on the client: with no listener that kills the process.
      // One the dispatcher terminated itself (abandon: a handler past its timeout) is expected, not a warning.
      const onError = (err: Error) => {
        broken = true;
        if (abandoned) logger.debug({ err }, "dispatcher connection of an abandoned transaction closed");
        else logger.warn({ err }, "dispatcher connection lost during a transaction");
      };
      client.on("error", onError);
      const release = (destroy: boolean) => {
        if (released) return;
        released = true;
        // A destroyed client keeps the listener: a socket error while it closes must not crash either.
        if (!destroy) client.off("error", onError);
        client.release(destroy || undefined);
      };
      let ended: Promise<void> | undefined;
      const pid = (client as unknown as { processID?: number }).processID ?? undefined;
      const session: TransactionSession = {
        pid,
        abandon() {
          if (released || ended) return;
          broken = true;
          abandoned = true;
          ended = (async () => {
            // From a connection of its own; failing that, PostgreSQL's cancel request and a closed socket.
            if (pid === undefined || !(await terminateBackend(pool.options, pid, logger))) cancelRunningStatement(client, logger);
            release(true);
          })();
        },
      };
      try {
        await client.query("BEGIN");
        const result = await fn(pgQueryable(client), client, session);
        const done = await client.query("COMMIT");
        // COMMIT of a transaction in which a statement failed answers ROLLBACK instead of an error.
        if (done.command === "ROLLBACK")
          throw new CommitFailedError("the transaction was rolled back at COMMIT: a statement in it had failed");
        return result;
      } catch (error) {
        if (!broken && !released) await client.query("ROLLBACK").catch(() => (broken = true));
        throw error;
      } finally {
        if (ended) await ended;
        else release(broken);
      }
    },
    close: async () => {
      if (owned) await pool.end();
    },
  };
}

/** A pool the dispatcher opens itself (config, CLI, relay destinations, inbox), always with its error listener. */
export function openPool(connectionString: string, logger: Logger = silentLogger, options: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString, max: DEFAULTS.pools.max, ...options });
  pool.on("error", (err) => logger.warn({ err }, "dispatcher pool connection lost"));
  guardClients(pool, logger);
  return pool;
}
