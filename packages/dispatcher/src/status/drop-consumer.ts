import { ADVISORY_LOCK_SQL, consumerLockKey, type Tables } from "../config/index.js";
import type { Database, Queryable } from "../database/index.js";
import { DispatcherStateError } from "../errors/index.js";
import { assertKnownConsumer, listeningSessions } from "./consumers.js";

export interface DropConsumerOptions {
  consumer: string;
  /** Report what would be deleted and delete nothing. Default false. */
  dryRun?: boolean;
}

export interface DropConsumerResult {
  consumer: string;
  dryRun: boolean;
  /** The cursors deleted (or that would be), with their last position. */
  cursors: Array<{ eventType: string; position: number }>;
  /** Dedup rows of the consumer deleted. */
  dedup: number;
  /** Dead letters of the consumer deleted, resolved or not; `activeDeadLetters` of them unresolved. */
  deadLetters: number;
  activeDeadLetters: number;
}

const cursorsSql = (t: Tables, lock: boolean) =>
  `SELECT event_type, last_position::text AS position FROM ${t.cursor} WHERE consumer = $1 ORDER BY event_type${lock ? " FOR UPDATE" : ""}`;
const countsSql = (t: Tables) => `SELECT (SELECT count(*) FROM ${t.dedup} WHERE consumer = $1)::int AS dedup,
    (SELECT count(*) FROM ${t.deadLetter} WHERE consumer = $1)::int AS dead_letters,
    (SELECT count(*) FROM ${t.deadLetter} WHERE consumer = $1 AND resolved_at IS NULL)::int AS active_dead_letters`;
// Replicas seen within three heartbeat intervals: a loop that only polls has no LISTEN session to show.
const liveInstancesSql = (t: Tables) => `SELECT count(*)::int AS n FROM ${t.instance}
  WHERE consumer = $1 AND last_seen_at >= now() - 3 * heartbeat_interval_ms * interval '1 millisecond'`;
const deleteSql = (t: Tables) => [
  `DELETE FROM ${t.cursor} WHERE consumer = $1`,
  `DELETE FROM ${t.dedup} WHERE consumer = $1`,
  `DELETE FROM ${t.deadLetter} WHERE consumer = $1`,
  // The heartbeat rows of replicas killed without stop().
  `DELETE FROM ${t.instance} WHERE consumer = $1`,
];

/** DispatcherStateError when a replica of the consumer is live by its heartbeat or connected with LISTEN. */
async function refuseIfRunning(q: Queryable, tables: Tables, consumer: string): Promise<void> {
  const [live] = await q.query<{ n: number }>(liveInstancesSql(tables), [consumer]);
  const replicas = Number(live?.n ?? 0);
  if (replicas > 0) {
    throw new DispatcherStateError(
      `consumer "${consumer}" is running (${replicas} live replica${replicas === 1 ? "" : "s"}): stop it before dropping it`,
    );
  }
  const running = await listeningSessions(q, consumer);
  if (running > 0) {
    throw new DispatcherStateError(
      `consumer "${consumer}" is running (${running} LISTEN session${running === 1 ? "" : "s"} connected): stop it before dropping it`,
    );
  }
}

/**
 * Forgets a consumer that will not run again (a throwaway or renamed one), whose cursors otherwise
 * keep prune from deleting the events past them forever: deletes its cursors, its dedup rows and its
 * dead letters (active ones included: only that consumer could replay them) in one transaction. The
 * events stay; prune deletes them once the other cursors have passed them. Refuses an unknown
 * consumer (UnknownConsumerError) and one with a replica connected with LISTEN or live by its
 * heartbeat (DispatcherStateError): stop it first. Dropping a running consumer would make it start
 * afresh and apply its events again. Started again, the consumer begins afresh, as its `startFrom` says.
 */
export async function dropConsumer(database: Database, tables: Tables, options: DropConsumerOptions): Promise<DropConsumerResult> {
  const { consumer } = options;
  const dryRun = options.dryRun === true;
  await assertKnownConsumer(database, tables, consumer);
  // Checked again inside the transaction, under the consumer's lock (a replica starting meanwhile).
  await refuseIfRunning(database, tables, consumer);
  const plan = async (q: Queryable, lock: boolean): Promise<DropConsumerResult> => {
    const cursors = await q.query<{ event_type: string; position: string }>(cursorsSql(tables, lock), [consumer]);
    const [counts] = await q.query<{ dedup: number; dead_letters: number; active_dead_letters: number }>(countsSql(tables), [consumer]);
    return {
      consumer,
      dryRun,
      cursors: cursors.map((c) => ({ eventType: c.event_type, position: Number(c.position) })),
      dedup: Number(counts?.dedup ?? 0),
      deadLetters: Number(counts?.dead_letters ?? 0),
      activeDeadLetters: Number(counts?.active_dead_letters ?? 0),
    };
  };
  if (dryRun) return plan(database, false);
  return database.transaction(async (q) => {
    // Exclusive: no heartbeat of the consumer's replicas while it is dropped (see consumerLockKey).
    await q.query(ADVISORY_LOCK_SQL, [consumerLockKey(tables, consumer)]);
    await refuseIfRunning(q, tables, consumer);
    const result = await plan(q, true);
    for (const sql of deleteSql(tables)) await q.query(sql, [consumer]);
    return result;
  });
}
