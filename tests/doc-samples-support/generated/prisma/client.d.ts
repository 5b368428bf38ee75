// Stands in for a domain's generated Prisma client in the docs' samples.
export declare class PrismaClient {
  constructor(options: { adapter: unknown });
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
  $transaction<T>(fn: (tx: any) => Promise<T>, options?: { timeout?: number; maxWait?: number }): Promise<T>;
  [model: string]: any;
}
