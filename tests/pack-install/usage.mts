// The seed README's Usage, run in a scratch project that installed the packed tarballs with npm.
import { PrismaPg } from "@prisma/adapter-pg";
import { dispatcher, configureDispatcher, type EventEnvelope, PayloadValidationError } from "@sguild/dispatcher";
import { v7 } from "uuid";
import { PrismaClient } from "./generated/prisma/client.ts";

const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL! }) });
const id = `crr_${v7()}`;
const person = `per_${v7()}`;
await prisma.creditReservation.create({ data: { id, state: "reserved" } });

configureDispatcher({ producer: "revenue", tenantId: "tnt_sguild", prismaClient: prisma });
await prisma.$transaction(async (tx) => {
  await tx.creditReservation.update({ where: { id }, data: { state: "locked" } });
  await dispatcher.publish(
    {
      event_type: "credit.locked",
      payload: {
        credit_reservation_id: id,
        lesson_id: `les_${v7()}`,
        person_id: person,
        locked_credits: 6,
        locked_at: new Date().toISOString(),
      },
      subject: person,
      actor: "system:revenue",
    },
    { tx },
  );
});
const refused = await dispatcher.publish({ event_type: "credit.locked", payload: {} as never }).catch((e: unknown) => e);

type CreditLockedPayload = {
  credit_reservation_id: string;
  lesson_id: string;
  person_id: string;
  locked_credits: number;
  locked_at: string;
};
const received: Array<EventEnvelope<CreditLockedPayload>> = [];
dispatcher.subscribe<CreditLockedPayload>("credit.locked", async (event) => {
  received.push(event);
});
await dispatcher.start({ consumer: "coaching", pollIntervalMs: 200 });
const deadline = Date.now() + 15_000;
while (received.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
await dispatcher.stop();
await dispatcher.close();
await prisma.$disconnect();
console.log(
  JSON.stringify({
    received: received.map((e) => [e.event_type, e.subject === person, e.payload.locked_credits]),
    refused: refused instanceof PayloadValidationError ? (refused as PayloadValidationError).code : String(refused),
    resolved: import.meta.resolve("@sguild/dispatcher"),
  }),
);
