import type { Tables } from "../config/index.js";
import type { Queryable } from "../database/index.js";
import { UnknownConsumerError } from "../errors/index.js";

// A consumer is known while a cursor or a dead letter carries its name.
const knownSql = (t: Tables) => `SELECT consumer FROM ${t.cursor} UNION SELECT consumer FROM ${t.deadLetter} ORDER BY 1`;
const existsSql = (t: Tables) => `SELECT EXISTS (SELECT 1 FROM ${t.cursor} WHERE consumer = $1)
  OR EXISTS (SELECT 1 FROM ${t.deadLetter} WHERE consumer = $1) AS known`;
// A consumer loop with LISTEN holds a session named sguild-dispatcher-listen:<consumer> (63 bytes at most).
const listeningSql = `SELECT count(*)::int AS n FROM pg_stat_activity
  WHERE datname = current_database() AND application_name = left('sguild-dispatcher-listen:' || $1, 63)`;

/** Every consumer name that has a cursor or a dead letter, sorted. */
export async function knownConsumers(q: Queryable, tables: Tables): Promise<string[]> {
  return (await q.query<{ consumer: string }>(knownSql(tables))).map((r) => r.consumer);
}

/** Throws UnknownConsumerError (UNKNOWN_CONSUMER) when no cursor and no dead letter carries this name. */
export async function assertKnownConsumer(q: Queryable, tables: Tables, consumer: string): Promise<void> {
  const [row] = await q.query<{ known: boolean }>(existsSql(tables), [consumer]);
  if (!row?.known) throw new UnknownConsumerError(consumer, await knownConsumers(q, tables));
}

/**
 * Sessions of this consumer's running loops that LISTEN (a loop started with a databaseUrl). A loop
 * that only polls has none, so 0 does not prove that it is stopped.
 */
export async function listeningSessions(q: Queryable, consumer: string): Promise<number> {
  const [row] = await q.query<{ n: number }>(listeningSql, [consumer]);
  return Number(row?.n ?? 0);
}
