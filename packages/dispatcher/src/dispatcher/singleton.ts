import type pg from "pg";
import type { DispatcherConfig } from "../config/index.js";
import type { AnyTransactionClient, PrismaLike, RegisteredTransaction, TransactionOf } from "../database/index.js";
import { Dispatcher } from "./dispatcher.js";

/**
 * The process-wide dispatcher of the seed README. Configure it once at startup with
 * `configureDispatcher`; unconfigured, it reads DISPATCHER_PRODUCER, DISPATCHER_TENANT_ID
 * and DATABASE_URL on first use. Its handlers' `ctx.tx` has the type of the client named in
 * `Register` (see there), or AnyTransactionClient.
 */
export const dispatcher: Dispatcher<RegisteredTransaction> = new Dispatcher();

/** The dispatcher type a configuration gives: Prisma's transaction client for `prismaClient`, else pg's PoolClient. */
export type DispatcherFor<C extends DispatcherConfig> = C extends { prismaClient: infer P extends PrismaLike }
  ? Dispatcher<TransactionOf<P>>
  : "prismaClient" extends keyof C
    ? C["prismaClient"] extends undefined
      ? Dispatcher<pg.PoolClient>
      : Dispatcher<AnyTransactionClient>
    : Dispatcher<pg.PoolClient>;

/**
 * Configures the `dispatcher` singleton; settings are validated now and a bad one throws
 * DispatcherConfigError. Returns the singleton typed after the client it was given.
 */
export function configureDispatcher<C extends DispatcherConfig>(config: C): DispatcherFor<C> {
  dispatcher.configure(config);
  return dispatcher as unknown as DispatcherFor<C>;
}

/** An independent dispatcher (several per process: other producers, consumers or databases), typed after its client. */
export function createDispatcher<C extends DispatcherConfig>(config: C): DispatcherFor<C> {
  return new Dispatcher(config) as DispatcherFor<C>;
}
