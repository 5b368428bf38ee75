import type { DomainDispatcher } from "../db.js";
import type { Tx } from "../db.js";
import { applyClaim } from "./claims.js";

export const CONSUMER = "coaching-availability";

/**
 * The availability projection's handlers. Each writes through ctx.tx, the delivery transaction, so
 * a redelivered or replayed event can never subtract a slot twice. credit.consumed is not
 * subscribed: a delivered lesson keeps its slot.
 */
export function subscribeProjection(dispatcher: DomainDispatcher): void {
  dispatcher.subscribe("credit.reserved", async (event, ctx) => {
    const p = event.payload;
    await applyClaim(ctx.tx, {
      reservationId: p.credit_reservation_id,
      lessonId: p.lesson_id,
      organizationId: p.organization_id,
      status: "held",
    });
  });
  dispatcher.subscribe("credit.locked", async (event, ctx) => {
    await applyClaim(ctx.tx, { reservationId: event.payload.credit_reservation_id, lessonId: event.payload.lesson_id, status: "held" });
  });
  dispatcher.subscribe("credit.released", async (event, ctx) => {
    await applyClaim(ctx.tx, { reservationId: event.payload.credit_reservation_id, status: "released" });
  });
  dispatcher.subscribe("credit.forfeited", async (event, ctx) => {
    await applyClaim(ctx.tx, { reservationId: event.payload.credit_reservation_id, lessonId: event.payload.lesson_id, status: "released" });
  });
}
