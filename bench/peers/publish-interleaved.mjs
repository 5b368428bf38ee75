// The publish cost of `pnpm bench peers`, measured interleaved: on one fresh embedded PostgreSQL,
// short rounds of a raw outbox INSERT and of dispatcher.publish alternate, each in its own
// transaction, on pg and on Prisma, so every pair shares the same disk and the same moment. (The
// table's produce/s column compares systems on different servers minutes apart, where one fsync-heavy
// neighbour moves a rate by 2x.) Prints one JSON line: events/s of each and the ratios.
//   node publish-interleaved.mjs      BENCH_PUBLISH_ROUNDS (6), BENCH_PUBLISH_PER_ROUND (1000)
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { loadPrismaClient } from "./prisma-client.mjs";
import { freshPostgres, message, progress } from "./support.mjs";
import { dispatcherOnPg, dispatcherOnPrisma } from "./systems/dispatcher.mjs";

const ROUNDS = Number(process.env.BENCH_PUBLISH_ROUNDS ?? 6);
const PER_ROUND = Number(process.env.BENCH_PUBLISH_PER_ROUND ?? 1000);
const INSERT = `INSERT INTO outbox (payload) VALUES ($1::jsonb)`;

const db = await freshPostgres({ dispatcherTables: true });
const result = {};
try {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(`CREATE TABLE outbox (id bigserial PRIMARY KEY, payload jsonb NOT NULL)`);
  const { PrismaClient } = await loadPrismaClient();
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url, max: 1 }) });
  const oursPg = await dispatcherOnPg(db);
  const oursPrisma = await dispatcherOnPrisma(db, { PrismaClient, PrismaPg });
  const kinds = {
    "raw-pg": async () => {
      await client.query("BEGIN");
      await client.query(INSERT, [JSON.stringify(message())]);
      await client.query("COMMIT");
    },
    "dispatcher-pg": () => oursPg.produce(),
    "raw-prisma": () => prisma.$transaction((tx) => tx.$executeRawUnsafe(INSERT, JSON.stringify(message()))),
    "dispatcher-prisma": () => oursPrisma.produce(),
  };
  const totals = Object.fromEntries(Object.keys(kinds).map((k) => [k, { n: 0, ms: 0, rounds: [] }]));
  for (const produce of Object.values(kinds)) for (let i = 0; i < 200; i += 1) await produce(); // warm-up
  progress(`publish, interleaved: ${ROUNDS} rounds of ${PER_ROUND} transactions per kind`);
  for (let round = 0; round < ROUNDS; round += 1) {
    // Rotate the order so no kind always runs right after the same neighbour.
    const order = Object.keys(kinds).map((_, i, keys) => keys[(i + round) % keys.length]);
    for (const key of order) {
      const started = performance.now();
      for (let i = 0; i < PER_ROUND; i += 1) await kinds[key]();
      const ms = performance.now() - started;
      totals[key].n += PER_ROUND;
      totals[key].ms += ms;
      totals[key].rounds.push((PER_ROUND / ms) * 1000);
    }
  }
  for (const [key, t] of Object.entries(totals)) result[key] = { rate: (t.n / t.ms) * 1000, rounds: t.rounds };
  await oursPg.close();
  await oursPrisma.close();
  await prisma.$disconnect();
  await client.end();
} finally {
  await db.stop();
}
process.stdout.write(`${JSON.stringify({ rounds: ROUNDS, perRound: PER_ROUND, ...result })}\n`);
process.exit(0);
