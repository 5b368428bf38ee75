// @sguild/dispatcher at its defaults: producer "revenue" publishes credit.locked in the caller's
// transaction; consumer "coaching" subscribes and start({ consumer }) numbers (sequences) and
// delivers. On pg: a pg.Pool of one connection for the producer, databaseUrl for the consumer.
// On Prisma: Prisma 7 + @prisma/adapter-pg, prisma.$transaction per event, and the consumer's
// delivery transactions through its own PrismaClient.
import pg from "pg";
import { createDispatcher } from "@sguild/dispatcher";
import { emit, TENANT } from "../support.mjs";

function consumerStarter(makeConsumer, options) {
  return async (onEntry) => {
    const consumer = makeConsumer();
    consumer.subscribe("credit.locked", (event) => {
      onEntry(event.event_id);
    });
    await consumer.start({ consumer: "bench", ...options });
    return () => consumer.close();
  };
}

export async function dispatcherOnPg(db) {
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  const producer = createDispatcher({ producer: "revenue", tenantId: TENANT, pool });
  const client = await pool.connect();
  const makeConsumer = () => createDispatcher({ producer: "coaching", tenantId: TENANT, databaseUrl: db.url });
  return {
    label: "@sguild/dispatcher (pg, defaults)",
    async produce() {
      await client.query("BEGIN");
      const envelope = await producer.publish(emit(), { tx: client });
      await client.query("COMMIT");
      this.bytes ??= Buffer.byteLength(JSON.stringify(envelope));
      return envelope.event_id;
    },
    startConsumer: consumerStarter(makeConsumer, {}),
    variants: [
      {
        label: "@sguild/dispatcher (pg), start({ synchronousCommit: true })",
        startConsumer: consumerStarter(makeConsumer, { synchronousCommit: true }),
      },
    ],
    async close() {
      client.release();
      await producer.close();
      await pool.end();
    },
  };
}

export async function dispatcherOnPrisma(db, { PrismaClient, PrismaPg }) {
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url, max: 1 }) });
  const consumerPrisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url }) });
  const producer = createDispatcher({ producer: "revenue", tenantId: TENANT, prismaClient: prisma });
  const makeConsumer = () =>
    createDispatcher({ producer: "coaching", tenantId: TENANT, prismaClient: consumerPrisma, databaseUrl: db.url });
  return {
    label: "@sguild/dispatcher (Prisma 7, defaults)",
    async produce() {
      const envelope = await prisma.$transaction((tx) => producer.publish(emit(), { tx }));
      this.bytes ??= Buffer.byteLength(JSON.stringify(envelope));
      return envelope.event_id;
    },
    startConsumer: consumerStarter(makeConsumer, {}),
    async close() {
      await producer.close();
      await prisma.$disconnect();
      await consumerPrisma.$disconnect();
    },
  };
}
