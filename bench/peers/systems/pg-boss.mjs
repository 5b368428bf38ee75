// pg-boss: jobs sent with `send(..., { db })` inside the producer's transaction on its pg
// connection. Two configurations: the library's defaults (work() fetches batchSize 1, then waits
// pollingIntervalSeconds 2 before the next fetch, found a job or not; no LISTEN/NOTIFY), and the
// fastest documented settings (useListenNotify + a notify queue, batchSize 100 with
// burstWhenBatchFull, the minimum pollingIntervalSeconds 0.5).
import pg from "pg";
import { PgBoss } from "pg-boss";
import { progress } from "../support.mjs";

export const PG_BOSS_TUNED_BATCH = Number(process.env.BENCH_PGBOSS_BATCH ?? 100);
const TUNED_WORK = { batchSize: PG_BOSS_TUNED_BATCH, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 };

export async function pgBoss(db, { tuned }) {
  const boss = new PgBoss({ connectionString: db.url, ...(tuned ? { useListenNotify: true } : {}) });
  boss.on("error", (error) => progress(`pg-boss error: ${error.message}`));
  await boss.start();
  await boss.createQueue("bench", tuned ? { notify: true } : {});
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const inTx = { executeSql: (text, values) => client.query(text, values) };
  const start = (workOptions) => async (onEntry) => {
    await boss.work("bench", workOptions, async (jobs) => {
      for (const job of jobs) onEntry(job.data.event_id);
    });
    return () => boss.offWork("bench");
  };
  return {
    label: tuned
      ? `pg-boss (batchSize ${PG_BOSS_TUNED_BATCH}, burstWhenBatchFull, useListenNotify + notify queue, poll 0.5 s)`
      : "pg-boss (defaults: batchSize 1, poll 2 s)",
    async produce(message) {
      await client.query("BEGIN");
      await boss.send("bench", message, { db: inTx });
      await client.query("COMMIT");
      return message.event_id;
    },
    startConsumer: start(tuned ? TUNED_WORK : {}),
    // Warm-up only: at its defaults pg-boss takes 2 s per job, so the warm-up backlog is consumed fast.
    warmupConsumer: start(TUNED_WORK),
    async discardBacklog() {
      await boss.deleteQueuedJobs("bench");
    },
    async close() {
      await client.end();
      await boss.stop({ graceful: false, wait: true });
    },
  };
}
