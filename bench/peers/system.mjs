// One system of `pnpm bench peers`, in its own process on its own fresh embedded PostgreSQL:
//   node system.mjs <key>
// warm-up, produce n (one transaction each), drain that backlog, latency at a steady rate; prints
// the result as one JSON line on stdout (progress on stderr).
import { PrismaPg } from "@prisma/adapter-pg";
import { loadPrismaClient } from "./prisma-client.mjs";
import { freshPostgres, measureDrain, measureLatency, measureProduce, message, progress, settings, warmUp } from "./support.mjs";
import { dispatcherOnPg, dispatcherOnPrisma } from "./systems/dispatcher.mjs";
import { graphileWorker } from "./systems/graphile-worker.mjs";
import { pgBoss } from "./systems/pg-boss.mjs";
import { rawOutboxOnPg, rawOutboxOnPrisma } from "./systems/raw-outbox.mjs";

const prisma = async () => ({ PrismaClient: (await loadPrismaClient()).PrismaClient, PrismaPg });

/** key -> [dispatcher tables needed, factory] */
export const SYSTEMS = {
  "raw-pg": [false, (db) => rawOutboxOnPg(db)],
  "raw-prisma": [false, async (db) => rawOutboxOnPrisma(db, await prisma())],
  "graphile-worker": [false, (db) => graphileWorker(db)],
  "pg-boss": [false, (db) => pgBoss(db, { tuned: false })],
  "pg-boss-tuned": [false, (db) => pgBoss(db, { tuned: true })],
  "dispatcher-pg": [true, (db) => dispatcherOnPg(db)],
  "dispatcher-prisma": [true, async (db) => dispatcherOnPrisma(db, await prisma())],
};

async function main(key) {
  const entry = SYSTEMS[key];
  if (!entry) throw new Error(`unknown system "${key}": one of ${Object.keys(SYSTEMS).join(", ")}`);
  const [dispatcherTables, factory] = entry;
  const db = await freshPostgres({ dispatcherTables });
  const result = { key, server: db.info, n: settings.n };
  try {
    const system = await factory(db);
    result.label = system.label;
    const { n } = settings;
    if (system.startConsumer) {
      progress(`${system.label}: warm-up (${settings.warmup} events)`);
      await warmUp(system, settings.warmup, system.warmupConsumer ?? system.startConsumer);
    } else {
      for (let i = 0; i < settings.warmup; i += 1) await system.produce(message());
    }
    progress(`${system.label}: produce ${n}`);
    result.produce = await measureProduce(system, n);
    result.bytes = system.bytes ?? Buffer.byteLength(JSON.stringify(message()));
    if (system.startConsumer) {
      progress(`${system.label}: drain ${n}`);
      result.drain = await measureDrain(system, n);
      if (!result.drain.complete) await system.discardBacklog?.();
      await system.beforeLatency?.();
      progress(`${system.label}: latency at ${settings.rate}/s for ${settings.latencySeconds} s`);
      result.latency = await measureLatency(system);
      result.variants = [];
      for (const variant of system.variants ?? []) {
        progress(`${variant.label}: latency at ${settings.rate}/s for ${settings.latencySeconds} s`);
        result.variants.push({ label: variant.label, latency: await measureLatency(system, { start: variant.startConsumer }) });
      }
    }
    await system.close();
  } catch (error) {
    console.error(error);
    process.exit(1);
  } finally {
    await db.stop();
  }
  return result;
}

const result = await main(process.argv[2]);
process.stdout.write(`${JSON.stringify(result)}\n`);
// pg-boss and graphile-worker may leave timers behind after stop(); the result is written.
process.exit(0);
