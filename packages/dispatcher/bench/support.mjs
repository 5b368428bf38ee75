// Shared by the benchmarks: a durable embedded PostgreSQL (fsync on, as in production) and a fresh database.
import pg from "pg";
import { v7 as uuidv7 } from "uuid";
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

/** A credit.reserved emit with fresh ids, the event the fanout and JetStream benchmarks send. */
export const reservedEmit = () => ({
  event_type: "credit.reserved",
  payload: {
    credit_reservation_id: `crr_${uuidv7()}`,
    credit_account_id: `crd_acct_${uuidv7()}`,
    person_id: `per_${uuidv7()}`,
    lesson_id: `les_${uuidv7()}`,
    organization_id: "org",
    reserved_credits: 1,
    reserved_at: new Date().toISOString(),
    lesson_starts_at: new Date().toISOString(),
  },
});
