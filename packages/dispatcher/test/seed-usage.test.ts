// The seed README's Usage section, run as written against the package (ids filled in).
import { afterAll, beforeAll, expect, it } from "vitest";
import { dispatcher, configureDispatcher, type EventEnvelope } from "../src/index.js";
import { id as newId, testDb, until, type TestDb } from "./helpers.js";
import type { PrismaClient } from "./generated/prisma/client.js";

// What a domain on the singleton writes once (docs: "Typed transactions"): ctx.tx is then its Prisma transaction client.
declare module "../src/index.js" {
  interface Register {
    client: PrismaClient;
  }
}

let db: TestDb;
const saved = process.env["DATABASE_URL"];

beforeAll(async () => {
  db = await testDb();
  process.env["DATABASE_URL"] = db.url; // the LISTEN connection's URL, as a domain's env would give it
});
afterAll(async () => {
  await dispatcher.close();
  process.env["DATABASE_URL"] = saved;
  await db.drop();
});

it("runs the seed README's Usage unchanged", async () => {
  const prisma = db.prisma;
  const id = newId("crr");
  const person = newId("per");
  await prisma.creditReservation.create({ data: { id, state: "reserved" } });

  configureDispatcher({
    producer: "revenue",
    tenantId: "tnt_sguild",
    prismaClient: prisma,
  });

  await prisma.$transaction(async (tx) => {
    await tx.creditReservation.update({ where: { id }, data: { state: "locked" } });
    await dispatcher.publish(
      {
        event_type: "credit.locked",
        payload: {
          credit_reservation_id: id,
          lesson_id: newId("les"),
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

  await dispatcher.publish({
    event_type: "credit.locked",
    payload: {
      credit_reservation_id: newId("crr"),
      lesson_id: newId("les"),
      person_id: person,
      locked_credits: 2,
      locked_at: new Date().toISOString(),
    },
    subject: person,
    actor: "system:revenue",
  });

  type CreditLockedPayload = {
    credit_reservation_id: string;
    lesson_id: string;
    person_id: string;
    locked_credits: number;
    locked_at: string;
  };
  const received: Array<EventEnvelope<CreditLockedPayload>> = [];
  dispatcher.subscribe<CreditLockedPayload>("credit.locked", async (event, ctx) => {
    const { lesson_id, locked_at } = event.payload;
    // Coaching's projection update, through the delivery's Prisma transaction.
    await ctx.tx.applied.create({ data: { consumer: "coaching", eventId: event.event_id, value: event.payload.locked_credits } });
    expect([lesson_id.startsWith("les_"), typeof locked_at]).toEqual([true, "string"]);
    received.push(event);
  });
  await dispatcher.start({ consumer: "coaching", pollIntervalMs: 100 });
  await until(() => received.length === 2);
  await dispatcher.stop();

  expect((await prisma.creditReservation.findUnique({ where: { id } }))?.state).toBe("locked");
  expect(received.map((e) => [e.producer, e.tenant_id, e.subject, e.actor, e.payload.locked_credits])).toEqual([
    ["revenue", "tnt_sguild", person, "system:revenue", 6],
    ["revenue", "tnt_sguild", person, "system:revenue", 2],
  ]);
  expect((await prisma.applied.findMany({ orderBy: { value: "desc" } })).map((a) => a.value)).toEqual([6, 2]);
});
