// graphile-worker at its defaults (concurrency 1, LISTEN/NOTIFY on add_job, 2 s poll as a
// backstop). Jobs are added with the add_job SQL function inside the producer's transaction.
// The one change: a silent logger, since by default every completed job is logged to stdout
// ("Completed task ...") and no other system here prints per event.
import pg from "pg";
import { Logger, run, runMigrations } from "graphile-worker";

const silent = new Logger(() => () => undefined);

export async function graphileWorker(db) {
  await runMigrations({ connectionString: db.url, logger: silent });
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  return {
    label: "graphile-worker (defaults)",
    async produce(message) {
      await client.query("BEGIN");
      await client.query("SELECT graphile_worker.add_job('bench', $1::json)", [JSON.stringify(message)]);
      await client.query("COMMIT");
      return message.event_id;
    },
    async startConsumer(onEntry) {
      const runner = await run({
        connectionString: db.url,
        logger: silent,
        noHandleSignals: true,
        taskList: {
          bench: async (payload) => {
            onEntry(payload.event_id);
          },
        },
      });
      return () => runner.stop();
    },
    async close() {
      await client.end();
    },
  };
}
