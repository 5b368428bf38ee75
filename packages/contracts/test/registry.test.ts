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
    expect(registry.eventTypes).toHaveLength(29);
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
