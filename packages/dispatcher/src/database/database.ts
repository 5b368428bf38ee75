import { createHash } from "node:crypto";
import pg from "pg";

/**
 * The one database seam: everything in the dispatcher runs SQL through `query(text, values)`.
 * Values are only ever bound as $n parameters. Unstable: adapters may gain methods.
 */
export interface Queryable {
  query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<Row[]>;
}

/** What a caller may pass as `tx`, and what a handler receives as `ctx.tx`. */
export type TransactionClient = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Database extends Queryable {
  /** Runs `fn` in one transaction; `raw` is the driver's own transaction client (for handlers). */
  transaction<T>(fn: (q: Queryable, raw: TransactionClient) => Promise<T>, options?: { timeoutMs?: number }): Promise<T>;
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
  throw new TypeError("tx must be a Prisma interactive-transaction client or a pg client");
}

export function fromPrisma(client: PrismaLike): Database {
  if (typeof client.$transaction !== "function") throw new TypeError("prismaClient must be a PrismaClient (it has no $transaction)");
  const transaction = client.$transaction.bind(client);
  return {
    ...prismaQueryable(client),
    transaction: async (fn, options = {}) =>
      (await transaction((tx) => fn(prismaQueryable(tx), tx), { timeout: options.timeoutMs ?? 60_000, maxWait: 10_000 })) as never,
    close: async () => undefined,
  };
}

export function fromPgPool(pool: pg.Pool, owned: boolean): Database {
  return {
    ...pgQueryable(pool),
    transaction: async (fn) => {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query("BEGIN");
        const result = await fn(pgQueryable(client), client);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {
          broken = true;
        });
        throw error;
      } finally {
        client.release(broken);
      }
    },
    close: async () => {
      if (owned) await pool.end();
    },
  };
}
