// Shared by the benchmarks: a durable embedded PostgreSQL (fsync on, as in production) and a fresh database.
import pg from "pg";
import { startTestPostgres, createTestDatabase } from "@sguild/prisma-fragment/testing";

export async function benchDatabase() {
  const server = await startTestPostgres({ fast: false });
  const db = await createTestDatabase({ adminUrl: server.adminUrl });
  const pool = new pg.Pool({ connectionString: db.url, max: 10 });
  return {
    url: db.url,
    pool,
    source: server.source,
    async close() {
      await pool.end();
      await db.drop();
      await server.stop();
    },
  };
}

export const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
export const fmt = (n, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
