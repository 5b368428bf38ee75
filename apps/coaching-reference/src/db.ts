import type { Dispatcher, TransactionOf } from "@sguild/dispatcher";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/prisma/client.js";

export type { PrismaClient };
/** The Prisma interactive-transaction client: what handlers get as ctx.tx and publish takes as tx. */
export type Tx = TransactionOf<PrismaClient>;
/** This domain's dispatcher, typed after its Prisma client. */
export type DomainDispatcher = Dispatcher<Tx>;

export function createPrisma(connectionString: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString }) });
}
