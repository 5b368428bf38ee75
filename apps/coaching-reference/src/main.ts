import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { createDispatcher } from "@sguild/dispatcher";
import { applyPrismaMigrations } from "@sguild/prisma-fragment";
import { createPrisma, type DomainDispatcher, type PrismaClient } from "./db.js";
import { createCoachingApp } from "./http/app.js";
import { CONSUMER, subscribeProjection } from "./projection/subscribe.js";

export interface CoachingOptions {
  databaseUrl: string;
  port?: number;
  tenantId?: string;
  adminToken?: string;
  /** Consumer poll interval; NOTIFY wakes it at once anyway. Default 1000 ms. */
  pollIntervalMs?: number;
}

const MIGRATIONS = fileURLToPath(new URL("../prisma/migrations", import.meta.url));

/** The Coaching dispatcher with the projection subscribed (not started). */
export function coachingDispatcher(prisma: PrismaClient, databaseUrl: string, tenantId = "tnt_sguild"): DomainDispatcher {
  const dispatcher = createDispatcher({ producer: "coaching", tenantId, prismaClient: prisma, databaseUrl });
  subscribeProjection(dispatcher);
  return dispatcher;
}

/** Applies migrations, starts the projection consumer and the read API; returns the URL and a clean stop. */
export async function startCoaching(options: CoachingOptions): Promise<{ url: string; stop(): Promise<void> }> {
  await applyPrismaMigrations({ connectionString: options.databaseUrl, migrationsDir: MIGRATIONS });
  const prisma = createPrisma(options.databaseUrl);
  const dispatcher = coachingDispatcher(prisma, options.databaseUrl, options.tenantId);
  await dispatcher.start({ consumer: CONSUMER, pollIntervalMs: options.pollIntervalMs ?? 1000 });
  const app = createCoachingApp(prisma, dispatcher, options.adminToken);
  const server = serve({ fetch: app.fetch, port: options.port ?? 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : options.port}`;
  return {
    url,
    stop: async () => {
      await new Promise((resolve) => server.close(resolve));
      await dispatcher.close();
      await prisma.$disconnect();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const databaseUrl = process.env["DATABASE_URL"];
  if (!databaseUrl) {
    console.error("coaching-reference: set DATABASE_URL");
    process.exit(2);
  }
  const running = await startCoaching({ databaseUrl, port: Number(process.env["PORT"] ?? 3002), adminToken: process.env["ADMIN_TOKEN"] });
  console.log(`coaching listening on ${running.url}`);
  const shutdown = () => void running.stop().then(() => process.exit(0));
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}
