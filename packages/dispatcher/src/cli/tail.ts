import pg from "pg";
import type { Tables } from "../config/index.js";
import { NOTIFY_CHANNEL } from "../consumer/index.js";
import type { Database } from "../database/index.js";
import { DEFAULTS } from "../config/defaults.js";

const startSql = (t: Tables) => `SELECT coalesce(max(position), 0)::text AS position FROM ${t.event}`;
const nextSql = (t: Tables) => `SELECT position::text AS position, event_id, event_type, producer, subject, occurred_at, payload
  FROM ${t.event} WHERE position > $1::bigint AND (cardinality($2::text[]) = 0 OR event_type = ANY($2::text[]))
  ORDER BY position LIMIT 500`;
const sequenceSql = (t: Tables) => `SELECT ${t.sequence}(${DEFAULTS.sequencer.batch})`;

/** Prints events committed from now on, in delivery order, until interrupted. */
export async function tail(db: Database, tables: Tables, url: string, types: string[], json: boolean): Promise<void> {
  const listener = new pg.Client({ connectionString: url, application_name: "sguild-dispatcher-tail" });
  // A lost LISTEN connection must not crash the CLI: tail goes on polling every 2 s.
  listener.on("error", (err) => console.error(`LISTEN connection lost (${err.message}); polling every 2 s`));
  await listener.connect();
  let wake: (() => void) | undefined;
  listener.on("notification", () => wake?.());
  await listener.query(`LISTEN ${NOTIFY_CHANNEL}`);
  let stopped = false;
  const stop = () => {
    stopped = true;
    wake?.();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let [{ position } = { position: "0" }] = await db.query<{ position: string }>(startSql(tables));
  console.error(`following new events${types.length ? ` of ${types.join(", ")}` : ""} (Ctrl-C to stop)`);
  const [sequence, next] = [sequenceSql(tables), nextSql(tables)];
  while (!stopped) {
    await db.query(sequence);
    const rows = await db.query<Record<string, unknown>>(next, [position, types]);
    for (const row of rows) {
      position = String(row["position"]);
      const when = new Date(row["occurred_at"] as string).toISOString();
      const camel = {
        position: Number(row["position"]),
        eventId: row["event_id"],
        eventType: row["event_type"],
        producer: row["producer"],
        subject: row["subject"],
        occurredAt: when,
        payload: row["payload"],
      };
      console.log(
        json
          ? JSON.stringify(camel)
          : `${when}  ${row["event_type"]}  ${row["event_id"]}  ${row["producer"]}  ` +
              `${row["subject"] ?? "-"}  ${JSON.stringify(row["payload"])}`,
      );
    }
    if (rows.length === 0)
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 2000).unref();
      });
  }
  await listener.end().catch(() => undefined);
}
