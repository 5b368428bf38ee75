import { InvalidArgumentError, SchemaOutdatedError, TransactionAbortedError } from "../errors/index.js";

const WHAT_TO_PASS =
  "pass the transaction client of prisma.$transaction(async (tx) => { ... }) as { tx }, " +
  "or a pg client from pool.connect() after BEGIN; omit tx to publish on its own";

const describe = (value: unknown) =>
  value === null
    ? "null"
    : typeof value !== "object"
      ? typeof value
      : `an object (${value.constructor?.name ?? "no prototype"}) with no query method`;

/**
 * Refuses, before any SQL, a `tx` that would not write in the caller's transaction: the root
 * PrismaClient (its queries autocommit; an interactive-transaction client has no $connect or
 * $disconnect, on Prisma 6 and 7 alike, while both have $transaction on Prisma 7), a pg.Pool (each
 * query may take another connection), a pg client outside BEGIN, or anything that cannot run SQL.
 * A pg client whose transaction is already aborted is a TransactionAbortedError.
 */
export function assertTransactionClient(tx: unknown): void {
  if (typeof tx !== "object" || tx === null)
    throw new InvalidArgumentError(`tx must be a transaction client, got ${describe(tx)}; ${WHAT_TO_PASS}`, "tx");
  const client = tx as Record<string, unknown>;
  if (typeof client["$queryRawUnsafe"] === "function") {
    if (typeof client["$disconnect"] === "function" || typeof client["$connect"] === "function") {
      throw new InvalidArgumentError(
        `tx is the root PrismaClient, not a transaction: the event would commit on its own, outside your transaction; ${WHAT_TO_PASS}`,
        "tx",
      );
    }
    return;
  }
  if (typeof client["query"] !== "function")
    throw new InvalidArgumentError(`tx must be a transaction client, got ${describe(tx)}; ${WHAT_TO_PASS}`, "tx");
  if (typeof client["connect"] === "function" && typeof client["totalCount"] === "number" && typeof client["idleCount"] === "number") {
    throw new InvalidArgumentError(
      `tx is a pg.Pool, not a transaction: each query may run on another connection and commits on its own; ${WHAT_TO_PASS}`,
      "tx",
    );
  }
  const status = pgTransactionStatus(client);
  if (status === "I")
    throw new InvalidArgumentError(
      `tx is a pg client outside a transaction (no BEGIN): the event would commit on its own; ${WHAT_TO_PASS}`,
      "tx",
    );
  if (status === "E") throw new TransactionAbortedError();
}

/**
 * node-postgres's transaction status ("I" idle, "T" in a transaction, "E" aborted) as of the last
 * ReadyForQuery, trusted only when no query is queued or running (a BEGIN sent without await).
 * Unknown (another driver, an older pg): undefined, and the insert itself tells.
 */
function pgTransactionStatus(client: Record<string, unknown>): string | undefined {
  if (typeof client["getTransactionStatus"] !== "function") return undefined;
  const queue = client["_queryQueue"];
  // _activeQuery is undefined on a client that has not run a query yet, null between queries.
  if (!Array.isArray(queue) || queue.length > 0 || client["_activeQuery"] != null) return undefined;
  const status = (client["getTransactionStatus"] as () => unknown).call(client);
  // A wrapper that refuses every call (a handler's ctx.tx after its attempt ended) answers with a
  // rejected promise: leave it handled, the insert reports the refusal.
  if (typeof (status as PromiseLike<unknown> | undefined)?.then === "function") (status as Promise<unknown>).catch(() => undefined);
  return typeof status === "string" ? status : undefined;
}

/** The SQLSTATE of a failed query, as node-postgres and Prisma (P2010 through a driver adapter, or the query engine) report it. */
function sqlState(error: unknown): unknown {
  const e = error as {
    code?: unknown;
    meta?: { code?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown; code?: unknown } } };
  } | null;
  if (typeof e !== "object" || e === null) return undefined;
  const cause = e.meta?.driverAdapterError?.cause;
  // The driver's own code first: Prisma's e.code (P2010) has the same shape as a SQLSTATE.
  for (const code of [cause?.originalCode, cause?.code, e.meta?.code, e.code])
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  return undefined;
}

/** PostgreSQL 25P02: the transaction was already aborted. */
export function isTransactionAborted(error: unknown): boolean {
  return sqlState(error) === "25P02";
}

/** What a writer throws for a failed INSERT into `table`: a typed error where the failure has a meaning for the caller. */
export function writeError(error: unknown, table: string): unknown {
  const state = sqlState(error);
  if (state === "25P02") return new TransactionAbortedError({ cause: error });
  // 42P01 undefined_table, about the events table itself (not one a trigger of the caller's reads):
  // the dispatcher's migration was never applied to this database (or schema).
  if (state === "42P01" && /dispatcher_event\b/.test(String((error as Error).message)))
    return new SchemaOutdatedError("20261123000000_dispatcher", `table ${table}`, { cause: error });
  return error;
}
