import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { createDispatcher, createFanoutRelay, type FanoutRelay } from "@sguild/dispatcher";
import { applyPrismaMigrations } from "@sguild/prisma-fragment";
import { createPrisma } from "./db.js";
import { createRevenueApp } from "./http/app.js";
import { RevenueService } from "./reservations/service.js";

export interface RevenueOptions {
  databaseUrl: string;
  port?: number;
  tenantId?: string;
  /** Coaching's database: when set, the fanout relay runs beside the app and delivers there. */
  coachingDatabaseUrl?: string;
  adminToken?: string;
}

const MIGRATIONS = fileURLToPath(new URL("../prisma/migrations", import.meta.url));

/** Applies migrations, starts the API (and the fanout relay), and returns its URL and a clean stop. */
export async function startRevenue(options: RevenueOptions): Promise<{ url: string; stop(): Promise<void> }> {
  await applyPrismaMigrations({ connectionString: options.databaseUrl, migrationsDir: MIGRATIONS });
  const prisma = createPrisma(options.databaseUrl);
  const tenantId = options.tenantId ?? "tnt_sguild";
  const dispatcher = createDispatcher({ producer: "revenue", tenantId, prismaClient: prisma, databaseUrl: options.databaseUrl });
  let relay: FanoutRelay | undefined;
  if (options.coachingDatabaseUrl) {
    relay = createFanoutRelay({
      source: { producer: "revenue", tenantId, databaseUrl: options.databaseUrl },
      destinations: { coaching: { kind: "database", databaseUrl: options.coachingDatabaseUrl } },
      consumerOptions: { pollIntervalMs: 1000 },
    });
    await relay.start();
  }
  const app = createRevenueApp(new RevenueService(prisma, dispatcher), dispatcher, options.adminToken);
  const server = serve({ fetch: app.fetch, port: options.port ?? 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : options.port}`;
  return {
    url,
    stop: async () => {
      await new Promise((resolve) => server.close(resolve));
      await relay?.close();
      await dispatcher.close();
      await prisma.$disconnect();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const databaseUrl = process.env["DATABASE_URL"];
  if (!databaseUrl) {
    console.error("revenue-reference: set DATABASE_URL");
    process.exit(2);
  }
  const running = await startRevenue({
    databaseUrl,
    port: Number(process.env["PORT"] ?? 3001),
    coachingDatabaseUrl: process.env["COACHING_DATABASE_URL"],
    adminToken: process.env["ADMIN_TOKEN"],
  });
  console.log(`revenue listening on ${running.url}`);
  const shutdown = () => void running.stop().then(() => process.exit(0));
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}
