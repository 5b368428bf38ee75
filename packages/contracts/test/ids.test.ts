import { describe, expect, it } from "vitest";
import { ContractValidator, ID_PREFIXES, isId, loadRegistry, newId, UnknownIdPrefixError } from "../src/index.js";

describe("newId", () => {
  it("makes <prefix>_<UUID v7> for every prefix the schemas use, sorted by creation time", () => {
    expect(ID_PREFIXES).toEqual([
      "ccr",
      "cli",
      "coa",
      "crd_acct",
      "crr",
      "evt",
      "fsm",
      "hld",
      "inv",
      "lead",
      "les",
      "mkt",
      "msg",
      "ord",
      "par",
      "pay",
      "per",
      "rfd",
      "sva",
    ]);
    for (const prefix of ID_PREFIXES) {
      const id = newId(prefix);
      expect(id).toMatch(new RegExp(`^${prefix}_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`));
      expect(isId(prefix, id)).toBe(true);
    }
    const ids = Array.from({ length: 50 }, () => newId("lead"));
    expect([...ids].sort()).toEqual(ids);
  });

  it("its ids pass the payload schemas", () => {
    const validator = new ContractValidator(loadRegistry());
    const payload = {
      credit_reservation_id: newId("crr"),
      lesson_id: newId("les"),
      person_id: newId("per"),
      locked_credits: 2,
      locked_at: new Date().toISOString(),
    };
    expect(validator.payloadIssues("credit.locked", 1, payload)).toEqual([]);
    // a prefix from a group (`^(lead|cli|par|coa)_<UUID v7>$`) too
    const role = {
      person_id: newId("per"),
      role: "coach",
      role_record_id: newId("coa"),
      assigned_via: "operator_action",
      assigned_at: payload.locked_at,
    };
    expect(validator.payloadIssues("role.assigned", 1, role)).toEqual([]);
    expect(validator.payloadIssues("role.assigned", 1, { ...role, role_record_id: newId("per") }).map((i) => i.path)).toEqual([
      "/role_record_id",
    ]);
  });

  it("refuses a prefix the contracts do not use, with UNKNOWN_ID_PREFIX", () => {
    const error = (() => {
      try {
        newId("leed" as never);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UnknownIdPrefixError);
    expect((error as UnknownIdPrefixError).code).toBe("UNKNOWN_ID_PREFIX");
    expect(() => isId("x" as never, "x_1")).toThrow(UnknownIdPrefixError);
  });

  it("isId checks the prefix and the UUID v7", () => {
    expect(isId("per", newId("lead"))).toBe(false);
    expect(isId("per", "per_0190b6a4-0000-4000-8000-000000000000")).toBe(false); // v4, not v7
    expect(isId("per", "per_0190B6A4-0000-7000-8000-000000000000")).toBe(false); // upper case
    expect(isId("per", 42)).toBe(false);
  });
});
