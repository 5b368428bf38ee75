#!/usr/bin/env node
import { Command, Option } from "commander";
import { createPrisma } from "./db.js";
import { backfill, cutOver, rebuild, shadowCompare } from "./cutover/cutover.js";
import { coachingDispatcher } from "./main.js";

// The cutover, as commands: backfill -> shadow -> cutover; and rebuild.
const program = new Command("coaching-reference")
  .addOption(new Option("--database-url <url>", "Coaching's database").env("DATABASE_URL").makeOptionMandatory())
  .exitOverride();

const withDb = async <T>(fn: (prisma: ReturnType<typeof createPrisma>, url: string) => Promise<T>): Promise<T> => {
  const url = program.opts<{ databaseUrl: string }>().databaseUrl;
  const prisma = createPrisma(url);
  try {
    return await fn(prisma, url);
  } finally {
    await prisma.$disconnect();
  }
};

program
  .command("backfill")
  .description("1. seed the projection from Revenue's read API")
  .requiredOption("--revenue-url <url>", "Revenue's API")
  .action((o: { revenueUrl: string }) =>
    withDb(async (prisma) => console.log(`backfilled ${(await backfill(prisma, o.revenueUrl)).reservations} reservations`)),
  );

program
  .command("shadow")
  .description("2. compare the event-fed projection with Revenue's read API; exit 1 on drift")
  .requiredOption("--revenue-url <url>", "Revenue's API")
  .action((o: { revenueUrl: string }) =>
    withDb(async (prisma) => {
      const result = await shadowCompare(prisma, o.revenueUrl);
      for (const d of result.drift) console.log(`drift ${d.reservation_id}: Revenue says ${d.expected}, projection has ${d.actual}`);
      console.log(`compared ${result.compared} reservations: ${result.drift.length} drifting`);
      if (result.drift.length > 0) process.exitCode = 1;
    }),
  );

program
  .command("cutover")
  .description("3. events only from now on")
  .action(() =>
    withDb(async (prisma) => {
      await cutOver(prisma);
      console.log("cut over: the projection is fed by events only");
    }),
  );

program
  .command("rebuild")
  .description("clear the projection and rewind the consumer with reprocess: it rebuilds the projection from the events")
  .action(() =>
    withDb(async (prisma, url) => {
      const dispatcher = coachingDispatcher(prisma, url);
      const result = await rebuild(prisma, dispatcher);
      await dispatcher.close();
      console.log(`rewound with reprocess: ${result.forgotten} dedup rows deleted; the running consumer applies those events again`);
    }),
  );

program.parseAsync().catch((error: Error & { exitCode?: number }) => {
  if (error.exitCode === undefined) console.error(`coaching-reference: ${error.message}`);
  process.exitCode = error.exitCode === 0 ? 0 : 2;
});
