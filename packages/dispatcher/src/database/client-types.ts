import type pg from "pg";
import type { PrismaLike } from "./database.js";

/**
 * Tells the compiler which client the `dispatcher` singleton was configured with, so handlers'
 * `ctx.tx` and `publish`'s `tx` get its transaction type. Once, anywhere in the project:
 *
 *   declare module "@sguild/dispatcher" { interface Register { client: typeof prisma } }
 *
 * (`typeof pool` for a pg Pool). `createDispatcher` and `configureDispatcher` need no registration:
 * they infer it from the client they are given.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Register {}

/** A transaction of an unregistered singleton: a Prisma transaction client or a pg client; narrow it, or register. */
export type AnyTransactionClient = PrismaLike | pg.PoolClient;

/**
 * The transaction client a database client opens: Prisma's interactive-transaction client (the
 * `tx` of `prisma.$transaction(async (tx) => ...)`, extended clients too) or, for a pg Pool, a PoolClient.
 */
export type TransactionOf<C> = C extends pg.Pool
  ? pg.PoolClient
  : C extends { $transaction(fn: (tx: infer T) => infer _R, ...rest: infer _O): unknown }
    ? T
    : C extends PrismaLike
      ? C
      : AnyTransactionClient;

/**
 * What `publish` accepts as `tx`: the configured client's transaction (for pg, any client inside
 * BEGIN). The root PrismaClient does not compile where its transaction client is expected: it has
 * `$connect`, which a transaction client has not (at run time it is refused too).
 */
export type PublishTransactionOf<Tx> = Tx extends pg.PoolClient ? pg.ClientBase : Tx extends PrismaLike ? Tx & { $connect?: never } : Tx;

/** The singleton's transaction type: the registered client's, else AnyTransactionClient. */
export type RegisteredTransaction = Register extends { client: infer C } ? TransactionOf<C> : AnyTransactionClient;
