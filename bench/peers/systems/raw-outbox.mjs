// The floor: a plain table, one INSERT per transaction; a reader following `id > cursor` in
// batches of 1000 (no dedup, no cursor table, no ordering guarantee between concurrent producers);
// woken by LISTEN/NOTIFY in the latency run.
import pg from "pg";

const TABLE = `CREATE TABLE outbox (id bigserial PRIMARY KEY, payload jsonb NOT NULL)`;
const INSERT = `INSERT INTO outbox (payload) VALUES ($1::jsonb)`;

export async function rawOutboxOnPg(db) {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(TABLE);
  let cursor = 0;
  let notify = false;
  return {
    label: "raw outbox (pg): insert + id > cursor, no dedup; the floor",
    async produce(message) {
      await client.query("BEGIN");
      await client.query(INSERT, [JSON.stringify(message)]);
      if (notify) await client.query("NOTIFY outbox"); // latency run only: the reader waits on it
      await client.query("COMMIT");
      return message.event_id;
    },
    async startConsumer(onEntry) {
      const reader = new pg.Client({ connectionString: db.url });
      const listener = new pg.Client({ connectionString: db.url });
      await reader.connect();
      await listener.connect();
      let running = true;
      let wake;
      listener.on("notification", () => wake?.());
      await listener.query("LISTEN outbox");
      const loop = (async () => {
        while (running) {
          const { rows } = await reader.query("SELECT id, payload FROM outbox WHERE id > $1 ORDER BY id LIMIT 1000", [cursor]);
          for (const row of rows) {
            cursor = Number(row.id);
            onEntry(row.payload.event_id);
          }
          if (rows.length < 1000 && running) {
            await new Promise((r) => {
              const timer = setTimeout(r, 1000);
              wake = () => {
                clearTimeout(timer);
                r();
              };
            });
            wake = undefined;
          }
        }
      })();
      return async () => {
        running = false;
        wake?.();
        await loop;
        await reader.end();
        await listener.end();
      };
    },
    beforeLatency() {
      notify = true;
    },
    async close() {
      await client.end();
    },
  };
}

/** The same INSERT through Prisma: one `prisma.$transaction` per event on a one-connection pool. */
export async function rawOutboxOnPrisma(db, { PrismaClient, PrismaPg }) {
  const setup = new pg.Client({ connectionString: db.url });
  await setup.connect();
  await setup.query(TABLE);
  await setup.end();
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url, max: 1 }) });
  return {
    label: "raw outbox (Prisma): insert in prisma.$transaction",
    async produce(message) {
      await prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(INSERT, JSON.stringify(message));
      });
      return message.event_id;
    },
    async close() {
      await prisma.$disconnect();
    },
  };
}
