// Type tests against the installed tarballs, compiled with tsc in the scratch project: every
// expect-error directive below must meet an error (or tsc fails) and every other line must compile.
import pg from "pg";
import { newId, type CreditReleasedPayloadV1, type LeadCreatedPayloadV1, type PayloadOf } from "@sguild/contracts";
import { createDispatcher, dispatcher, uncataloged, type EventEnvelope, type Handler, type TransactionOf } from "@sguild/dispatcher";
import { PrismaClient } from "./generated/prisma/client.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const expectType = <A, B>(_: Equal<A, B>) => undefined;

declare const prisma: PrismaClient;
declare const pool: pg.Pool;
type PrismaTx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];
const onPrisma = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", prismaClient: prisma });
const onPg = createDispatcher({ producer: "sales", tenantId: "tnt_sguild", pool });

// ctx.tx is the client's transaction type.
onPrisma.subscribe("credit.locked", async (_event, ctx) => {
  expectType<typeof ctx.tx, PrismaTx>(true);
  await ctx.tx.creditReservation.update({ where: { id: "crr_x" }, data: { state: "locked" } });
  // @ts-expect-error a misspelled model
  await ctx.tx.creditReservaton.update({ where: { id: "crr_x" }, data: { state: "locked" } });
});
onPg.subscribe("credit.locked", async (_event, ctx) => {
  expectType<typeof ctx.tx, pg.PoolClient>(true);
  await ctx.tx.query("SELECT 1");
});
expectType<TransactionOf<PrismaClient>, PrismaTx>(true);

// publish's tx, per client.
await prisma.$transaction(async (tx) => {
  await onPrisma.publish({ event_type: "credit.locked", payload: {} as never }, { tx });
  // @ts-expect-error the root client is not a transaction
  await onPrisma.publish({ event_type: "credit.locked", payload: {} as never }, { tx: prisma });
  // @ts-expect-error a Prisma transaction on a pg dispatcher
  await onPg.publish({ event_type: "credit.locked", payload: {} as never }, { tx });
});

// publish is generic on the event type.
const lead = {
  lead_id: newId("lead"),
  person_id: newId("per"),
  opened_from: "intake_matched" as const,
  stage: "new",
  created_at: new Date().toISOString(),
};
const stored = await onPg.publish({ event_type: "lead.created", payload: lead });
expectType<typeof stored, EventEnvelope<LeadCreatedPayloadV1>>(true);
// @ts-expect-error a misspelled field, reported against LeadCreatedPayloadV1
await onPg.publish({ event_type: "lead.created", payload: { ...lead, lead_idd: "x" } });
const v1 = await onPg.publish({ event_type: "credit.released", schema_version: 1, payload: {} as CreditReleasedPayloadV1 });
expectType<typeof v1.payload, CreditReleasedPayloadV1>(true);

// A handler typed for another event type does not compile.
const onReserved: Handler<PayloadOf<"credit.reserved">, pg.PoolClient> = async () => undefined;
onPg.subscribe("credit.reserved", onReserved);
// @ts-expect-error a credit.reserved handler for credit.released
onPg.subscribe("credit.released", onReserved);
// @ts-expect-error an inline handler annotated with another payload
onPg.subscribe("credit.reserved", async (_event: EventEnvelope<LeadCreatedPayloadV1>) => undefined);

// Unknown event types and domains do not compile; uncataloged() is the escape hatch.
// @ts-expect-error a misspelled event type
onPg.subscribe("credit.lockd", () => undefined);
// @ts-expect-error a domain outside the closed set
createDispatcher({ producer: "Sales", tenantId: "tnt_sguild", pool });
// @ts-expect-error a prefix no schema uses
newId("leed");
onPg.subscribe(uncataloged<{ widget_id: string }>("acme.widget.made"), (event) => {
  expectType<typeof event.payload, { widget_id: string }>(true);
});

// The singleton takes the registered client's transaction type.
declare module "@sguild/dispatcher" {
  interface Register {
    client: PrismaClient;
  }
}
dispatcher.subscribe("credit.locked", (_event, ctx) => {
  expectType<typeof ctx.tx, PrismaTx>(true);
});
