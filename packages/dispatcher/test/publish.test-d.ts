import { expectTypeOf, it } from "vitest";
import { createDispatcher, type EventEnvelope } from "../src/index.js";
import type { CreditLockedPayloadV1, CreditReleasedPayloadV1, CreditReleasedPayloadV2 } from "@sguild/contracts";

declare const d: ReturnType<typeof createDispatcher>;
const payload = {
  credit_reservation_id: "crr_x",
  lesson_id: "les_x",
  person_id: "per_x",
  locked_credits: 6,
  locked_at: "2026-06-01T00:00:00Z",
};
const { locked_credits: _omitted, ...withoutLockedCredits } = payload;

it("checks publish against the contracts catalog", () => {
  void d.publish({ event_type: "credit.locked", payload });
  // @ts-expect-error a misspelled event type
  void d.publish({ event_type: "credit.lockd", payload });
  // @ts-expect-error a missing payload field (the key is absent)
  void d.publish({ event_type: "credit.locked", payload: withoutLockedCredits });
  // @ts-expect-error a required payload field set to undefined
  void d.publish({ event_type: "credit.locked", payload: { ...payload, locked_credits: undefined } });
  // @ts-expect-error a misspelled payload field
  void d.publish({
    event_type: "credit.locked",
    payload: { credit_reservation_id: "crr_x", lesson_id: "les_x", person_id: "per_x", locked_credit: 6, locked_at: "x" },
  });
  // @ts-expect-error a field of the wrong type
  void d.publish({ event_type: "credit.locked", payload: { ...payload, locked_credits: "6" } });
  // without schema_version, credit.released is typed at v2 (reason_code required) ...
  // @ts-expect-error reason_code missing
  void d.publish({ event_type: "credit.released", payload: {} as CreditReleasedPayloadV1 });
  // ... and an explicit schema_version 1 takes the v1 shape
  void d.publish({ event_type: "credit.released", schema_version: 1, payload: {} as CreditReleasedPayloadV1 });
  void d.publish({ event_type: "credit.released", payload: {} as CreditReleasedPayloadV2 });
  // @ts-expect-error an event with no payload schema cannot be published
  void d.publish({ event_type: "lesson.attended", payload: {} });
});

it("types subscribers from the catalog, or from an explicit type argument", () => {
  d.subscribe("credit.locked", (event, ctx) => {
    expectTypeOf(event).toEqualTypeOf<EventEnvelope<CreditLockedPayloadV1>>();
    expectTypeOf(ctx.attempt).toEqualTypeOf<number>();
  });
  d.subscribe("credit.released", (event) => {
    expectTypeOf(event.payload).toEqualTypeOf<CreditReleasedPayloadV1 | CreditReleasedPayloadV2>();
  });
  d.subscribe<{ custom: true }>("credit.locked", (event) => {
    expectTypeOf(event.payload.custom).toEqualTypeOf<true>();
  });
});
