import os from "node:os";
import { v7 as uuidv7 } from "uuid";
import { consumerLockKey, type Tables } from "../config/index.js";
import type { Database } from "../database/index.js";
import { DISPATCHER_VERSION } from "../version.js";

// Refreshes this loop's row, and forgets replicas silent for a day (killed without stop()). Under the
// consumer's lock, shared (see consumerLockKey): not while the consumer is being dropped.
const beatSql = (t: Tables) => `WITH locked AS (SELECT pg_advisory_xact_lock_shared(hashtext($8))), gone AS (
    DELETE FROM ${t.instance} WHERE last_seen_at < now() - interval '1 day'
  )
  INSERT INTO ${t.instance} (instance_id, consumer, host, pid, version, event_types, heartbeat_interval_ms)
  SELECT $1, $2, $3, $4, $5, $6::text[], $7 FROM locked
  ON CONFLICT (instance_id) DO UPDATE SET last_seen_at = now()`;
const endSql = (t: Tables) => `DELETE FROM ${t.instance} WHERE instance_id = $1`;

/** A running consumer loop's row in dispatcher_consumer_instance: who it is, and when it was last seen. */
export class Heartbeat {
  readonly instanceId = `ins_${uuidv7()}`;
  private readonly sql: { beat: string; end: string };
  private readonly params: unknown[];

  constructor(
    private readonly database: Database,
    tables: Tables,
    consumer: string,
    eventTypes: readonly string[],
    intervalMs: number,
  ) {
    this.sql = { beat: beatSql(tables), end: endSql(tables) };
    this.params = [
      this.instanceId,
      consumer,
      os.hostname(),
      process.pid,
      DISPATCHER_VERSION,
      [...eventTypes],
      intervalMs,
      consumerLockKey(tables, consumer),
    ];
  }

  async beat(): Promise<void> {
    await this.database.query(this.sql.beat, this.params);
  }

  /** Best effort: a replica that cannot say goodbye is shown as not live after three intervals. */
  async end(): Promise<void> {
    await this.database.query(this.sql.end, [this.instanceId]).catch(() => undefined);
  }
}
