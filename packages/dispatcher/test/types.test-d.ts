// The dispatcher is typed after its client: ctx.tx and publish's tx, catalog-only event types and domains.
import type pg from "pg";
import { expectTypeOf, it } from "vitest";
import { newId, type CreditReleasedPayloadV1, type LeadCreatedPayloadV1, type PayloadOf } from "@sguild/contracts";
import { createDispatcher, dispatcher, uncataloged, type EventEnvelope, type Handler } from "../src/index.js";
import type { PrismaClient } from "./generated/prisma/client.js";

declare const prisma: PrismaClient;
declare const pool: pg.Pool;
const onPrisma = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", prismaClient: prisma });
const onPg = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool });
const onUrl = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", databaseUrl: "postgres://localhost/x" });
type PrismaTx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];
const leadCreated = {
  lead_id: newId("lead"),
  person_id: newId("per"),
  opened_from: "intake_matched" as const,
  stage: "new",
  created_at: new Date().toISOString(),
};

it("ctx.tx is the Prisma transaction client, or a pg PoolClient", () => {
  onPrisma.subscribe("credit.locked", async (_event, ctx) => {
    expectTypeOf(ctx.tx).toEqualTypeOf<PrismaTx>();
    await ctx.tx.applied.create({ data: { consumer: "c", eventId: "e" } });
    // @ts-expect-error a misspelled model
    await ctx.tx.appliedd.create({ data: {} });
    // @ts-expect-error a field the model does not have
    await ctx.tx.applied.create({ data: { nonsense: true } });
  });
  onPg.subscribe("credit.locked", async (_event, ctx) => {
    expectTypeOf(ctx.tx).toEqualTypeOf<pg.PoolClient>();
    await ctx.tx.query("SELECT 1");
    // @ts-expect-error a PoolClient has no Prisma models
    await ctx.tx.applied.create({ data: {} });
  });
  onUrl.subscribe("credit.locked", (_event, ctx) => {
    expectTypeOf(ctx.tx).toEqualTypeOf<pg.PoolClient>();
  });
});

it("publish takes the client's transaction as tx", async () => {
  await prisma.$transaction(async (tx) => {
    await onPrisma.publish({ event_type: "credit.locked", payload: {} as never }, { tx });
    // @ts-expect-error the root client is not a transaction
    await onPrisma.publish({ event_type: "credit.locked", payload: {} as never }, { tx: prisma });
    // @ts-expect-error a pool is not a transaction
    await onPrisma.publish({ event_type: "credit.locked", payload: {} as never }, { tx: pool });
    // @ts-expect-error a Prisma transaction on a pg dispatcher
    await onPg.publish({ event_type: "credit.locked", payload: {} as never }, { tx });
  });
  const client = await pool.connect();
  await onPg.publish({ event_type: "credit.locked", payload: {} as never }, { tx: client });
  // @ts-expect-error a pg Pool is not a client inside BEGIN
  await onPg.publish({ event_type: "credit.locked", payload: {} as never }, { tx: pool });
  // @ts-expect-error a pg client on a Prisma dispatcher
  await onPrisma.publish({ event_type: "credit.locked", payload: {} as never }, { tx: client });
});

it("publish is typed per event type, and resolves to that type's envelope", async () => {
  const stored = await onPg.publish({ event_type: "lead.created", payload: leadCreated });
  expectTypeOf(stored).toEqualTypeOf<EventEnvelope<LeadCreatedPayloadV1>>();
  // @ts-expect-error a misspelled field, reported against LeadCreatedPayloadV1
  await onPg.publish({ event_type: "lead.created", payload: { ...leadCreated, lead_idd: "x" } });
  // @ts-expect-error an event type not in the catalog
  await onPg.publish({ event_type: "lead.creatd", payload: leadCreated });
  const v1 = await onPg.publish({ event_type: "credit.released", schema_version: 1, payload: {} as CreditReleasedPayloadV1 });
  expectTypeOf(v1.payload).toEqualTypeOf<CreditReleasedPayloadV1>();
});

it("a handler typed for another event type does not compile", () => {
  const onReserved: Handler<PayloadOf<"credit.reserved">, pg.PoolClient> = async () => undefined;
  onPg.subscribe("credit.reserved", onReserved);
  // @ts-expect-error a credit.reserved handler for credit.released
  onPg.subscribe("credit.released", onReserved);
  // @ts-expect-error a credit.reserved handler for lead.created
  onPg.subscribe("lead.created", onReserved);
  // @ts-expect-error an inline handler annotated with another payload
  onPg.subscribe("credit.reserved", async (_event: EventEnvelope<LeadCreatedPayloadV1>) => undefined);
  onPg.subscribe<{ custom: true }>("credit.locked", (event) => {
    expectTypeOf(event.payload).toEqualTypeOf<{ custom: true }>();
  });
});

it("unknown event types and domains are compile errors", () => {
  // @ts-expect-error a misspelled event type
  onPg.subscribe("credit.lockd", () => undefined);
  // @ts-expect-error even with an explicit payload type
  onPg.subscribe<{ x: 1 }>("credit.lockd", () => undefined);
  // @ts-expect-error a domain outside the closed set
  createDispatcher({ producer: "Sales", tenantId: "tnt_sguild", pool });
  // @ts-expect-error a string is not a domain
  createDispatcher({ producer: "sales" as string, tenantId: "tnt_sguild", pool });
});

it("uncataloged() is the explicit escape hatch for types not in the compiled catalog", async () => {
  type Widget = { widget_id: string };
  onPg.subscribe(uncataloged<Widget>("acme.widget.made"), (event, ctx) => {
    expectTypeOf(event.payload).toEqualTypeOf<Widget>();
    expectTypeOf(ctx.tx).toEqualTypeOf<pg.PoolClient>();
  });
  const stored = await onPg.publish({ event_type: uncataloged<Widget>("acme.widget.made"), payload: { widget_id: "w" } });
  expectTypeOf(stored.payload).toEqualTypeOf<Widget>();
  // @ts-expect-error the payload must match the type given to uncataloged
  await onPg.publish({ event_type: uncataloged<Widget>("acme.widget.made"), payload: { widget: 1 } });
});

it("the singleton takes the registered client's transaction type (registered in seed-usage.test.ts)", () => {
  dispatcher.subscribe("credit.locked", (_event, ctx) => {
    expectTypeOf(ctx.tx).toEqualTypeOf<PrismaTx>();
  });
});
