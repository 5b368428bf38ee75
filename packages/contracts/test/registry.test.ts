import { cpSync, mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  ContractValidator,
  SguildError,
  UnknownEventTypeError,
  getRegistration,
  loadRegistry,
  resolveSchemaVersion,
} from "../src/index.js";

const cwd = process.cwd();
afterEach(() => process.chdir(cwd));

describe("loadRegistry", () => {
  it("finds the bundled registry whatever the cwd", () => {
    process.chdir(tmpdir());
    const registry = loadRegistry();
    expect(registry.getRegistration("credit.locked").producer).toBe("revenue");
    expect(registry.eventTypes).toHaveLength(52);
  });

  it("takes an explicit path, resolving schemas beside it", () => {
    const dir = mkdtempSync(join(tmpdir(), "contracts-"));
    cpSync(join(cwd, "contracts"), join(dir, "contracts"), { recursive: true });
    const path = join(dir, "contracts/event-types-registry.json");
    const doc = JSON.parse(readFileSync(path, "utf8"));
    doc.events["credit.locked"].consumers = ["delivery"];
    writeFileSync(path, JSON.stringify(doc));
    const registry = loadRegistry(path);
    expect(registry.getRegistration("credit.locked").consumers).toEqual(["delivery"]);
    expect(registry.resolvePath("contracts/x.json")).toBe(join(dir, "contracts/x.json"));
  });
});

describe("lookups", () => {
  it("getRegistration refuses an unknown event_type with a typed error", () => {
    const error = (() => {
      try {
        getRegistration("credit.lockd");
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UnknownEventTypeError);
    expect(SguildError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: "UNKNOWN_EVENT_TYPE", eventType: "credit.lockd" });
  });

  it("resolveSchemaVersion gives the highest active version whose active_from has passed", () => {
    expect(resolveSchemaVersion("credit.released")).toBe(2);
    expect(resolveSchemaVersion("credit.released", new Date("2026-05-21T23:00:00Z"))).toBe(1);
    expect(resolveSchemaVersion("credit.released", new Date("2026-05-22T00:00:00Z"))).toBe(2);
    expect(resolveSchemaVersion("intake.captured", new Date("2026-05-06T12:00:00Z"))).toBe(1);
    expect(resolveSchemaVersion("credit.locked")).toBe(1);
    // intake.matched v2 (active_from 2026-12-16) next to v1
    expect(resolveSchemaVersion("intake.matched", new Date("2026-12-15T23:59:59Z"))).toBe(1);
    expect(resolveSchemaVersion("intake.matched", new Date("2026-12-16T00:00:00Z"))).toBe(2);
  });

  it("intake.matched: v1 still validates when pinned; v2 requires the intake snapshot", () => {
    const validator = new ContractValidator();
    const v1 = {
      form_submission_id: "fsm_0190f5a2-7c3e-7a11-8b2c-3d4e5f607182",
      person_id: "per_0190f5a2-7c3e-7a11-8b2c-3d4e5f607182",
      match_type: "auto_matched",
      matched_at: "2026-06-01T15:00:00Z",
    };
    expect(validator.payloadIssues("intake.matched", 1, v1)).toEqual([]);
    expect(validator.payloadIssues("intake.matched", 2, v1).map((i) => i.path)).toEqual([
      "/matched_on",
      "/visitor_id",
      "/source",
      "/submission",
    ]);
    expect(getRegistration("intake.matched").schema_versions.map((v) => [v.version, v.status, v.active_from, v.deprecated_at])).toEqual([
      [1, "active", undefined, "2026-12-16"],
      [2, "active", "2026-12-16", undefined],
    ]);
  });

  it("registers the 2.0.1 vocabulary and the memo's events with their producers", () => {
    const producers = Object.fromEntries(
      [
        "coach.assigned",
        "coaching.lesson.confirmation_decided",
        "lead.coach.confirmation.requested",
        "role.assigned",
        "role.retired",
        "lead.handoff.context.recorded",
        "lead.qualified",
        "sales.lead.onboarded",
        "lesson.rescheduled",
        "order.created",
        "order.updated",
        "platform.comms.inbound",
        "geography.market.upserted",
        "geography.market.archived",
        "geography.service-area.upserted",
        "geography.service-area.archived",
        "delivery.lesson-hold.created",
        "delivery.lesson-hold.cancelled",
        "person.created",
        "person.merged",
        "lead.disqualified",
        "lead.unreachable",
        "payment.captured",
        "invoice.sent",
      ].map((type) => [type, getRegistration(type).producer]),
    );
    expect(producers).toEqual({
      "coach.assigned": "delivery",
      "coaching.lesson.confirmation_decided": "coaching",
      "lead.coach.confirmation.requested": "sales",
      "role.assigned": "platform",
      "role.retired": "platform",
      "lead.handoff.context.recorded": "sales",
      "lead.qualified": "sales",
      "sales.lead.onboarded": "sales",
      "lesson.rescheduled": "delivery",
      "order.created": "revenue",
      "order.updated": "revenue",
      "platform.comms.inbound": "platform",
      "geography.market.upserted": "platform",
      "geography.market.archived": "platform",
      "geography.service-area.upserted": "platform",
      "geography.service-area.archived": "platform",
      "delivery.lesson-hold.created": "delivery",
      "delivery.lesson-hold.cancelled": "delivery",
      "person.created": "platform",
      "person.merged": "platform",
      "lead.disqualified": "sales",
      "lead.unreachable": "sales",
      "payment.captured": "revenue",
      "invoice.sent": "revenue",
    });
    for (const type of Object.keys(producers)) {
      expect(
        getRegistration(type).schema_versions.every((v) => v.payload_schema !== null),
        type,
      ).toBe(true);
    }
  });

  it("an event type with a hyphen in a segment passes the envelope (delivery.lesson-hold.created)", () => {
    const validator = new ContractValidator();
    const envelope = {
      event_id: "evt_0190f5a2-7c3e-7a11-8b2c-3d4e5f607182",
      event_type: "delivery.lesson-hold.cancelled",
      occurred_at: "2026-06-01T15:00:00Z",
      tenant_id: "tnt_sguild",
      producer: "delivery",
      schema_version: 1,
      payload: {},
      subject: "hld_0190f5a2-7c3e-7a11-8b2c-3d4e5f607182",
    };
    expect(validator.envelopeIssues(envelope)).toEqual([]);
    expect(validator.envelopeIssues({ ...envelope, event_type: "delivery.-hold" }).map((i) => i.path)).toEqual(["/event_type"]);
  });

  it("deprecated versions still validate when asked for explicitly; unregistered ones are refused", () => {
    const validator = new ContractValidator();
    const v1 = {
      credit_reservation_id: "crr_0190f5a2-7c3e-7a11-8b2c-3d4e5f607182",
      credit_account_id: "crd_acct_0190f5a2-7c3e-7a11-8b2c-3d4e5f607182",
      released_credits: 1,
      initiator: "customer",
      reversal_reason: "Credits Released",
      cancelled_at: "2026-06-01T10:00:00Z",
    };
    expect(validator.payloadIssues("credit.released", 1, v1)).toEqual([]);
    expect(validator.payloadIssues("credit.released", 2, v1)).toEqual([
      { path: "/reason_code", keyword: "required", message: "must have required property 'reason_code'" },
    ]);
    expect(() => validator.payloadIssues("credit.released", 3, v1)).toThrow(
      expect.objectContaining({ code: "SCHEMA_VERSION_NOT_REGISTERED", eventType: "credit.released", schemaVersion: 3 }),
    );
    expect(() => validator.payloadIssues("intake.captured", 1, {})).toThrow(
      expect.objectContaining({ code: "NO_PAYLOAD_SCHEMA", eventType: "intake.captured", schemaVersion: 1 }),
    );
  });
});
