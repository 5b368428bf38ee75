import { expectTypeOf, it } from "vitest";
import type { CatalogEventType, EventCatalog, PayloadOf } from "../src/index.js";
import { newId } from "../src/index.js";

it("maps event types and versions to payload types", () => {
  expectTypeOf<PayloadOf<"credit.locked">>().toHaveProperty("locked_credits").toEqualTypeOf<number>();
  expectTypeOf<PayloadOf<"credit.released">>().toHaveProperty("reason_code");
  expectTypeOf<EventCatalog["credit.released"][1]>().not.toHaveProperty("reason_code");
  expectTypeOf<"credit.locked">().toExtend<CatalogEventType>();
  // intake.matched: v2 (the default) carries the intake snapshot, v1 does not
  expectTypeOf<PayloadOf<"intake.matched">>().toHaveProperty("submission");
  expectTypeOf<EventCatalog["intake.matched"][1]>().not.toHaveProperty("submission");
  expectTypeOf<PayloadOf<"delivery.lesson-hold.created">>().toHaveProperty("lesson_hold_id").toEqualTypeOf<string>();
  expectTypeOf<PayloadOf<"lead.unreachable">>().toHaveProperty("attempt_count").toEqualTypeOf<4>();
  expectTypeOf<"coach.assigned">().toExtend<CatalogEventType>();
  // no payload schema at any version: not in the catalog
  expectTypeOf<"lesson.attended">().not.toExtend<CatalogEventType>();
});

it("newId takes only the prefixes the contracts use, and types its result", () => {
  const lead = newId("lead");
  expectTypeOf(lead).toEqualTypeOf<`lead_${string}`>();
  expectTypeOf(newId("hld")).toEqualTypeOf<`hld_${string}`>();
  // @ts-expect-error a prefix no schema uses
  newId("leed");
});
