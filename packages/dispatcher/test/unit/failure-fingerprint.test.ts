import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors/index.js";
import { failureFingerprint } from "../../src/consumer/record-failure.js";

// The fingerprints below are sha256("<class>:<normalized message>").slice(0, 16), computed outside the module.
describe("failureFingerprint", () => {
  const message =
    `reservation crr_0190f3a2-7c1d-7b3e-9f00-1234567890ab for lesson 0190f3a2-7c1d-7b3e-9f00-abcdefabcdef ` +
    `has 6 credits, wanted "seven" after 1.5 s`;

  it("folds prefixed ids, bare uuids, quoted values and numbers into one fingerprint", () => {
    const error = new Error(message);
    expect(failureFingerprint(error)).toEqual({ errorClass: "Error", message, stack: error.stack, fingerprint: "19564e87f3129b35" });
  });

  it("gives the same fingerprint to the same bug with other ids, numbers and quoted values", () => {
    const other = new Error(
      `reservation les_ffffffff-0000-7000-8000-000000000000 for lesson 01234567-89ab-cdef-0123-456789abcdef ` +
        `has 12 credits, wanted 'anything' after 30 s`,
    );
    expect(failureFingerprint(other).fingerprint).toBe("19564e87f3129b35");
    expect(failureFingerprint(other).message).toBe(other.message);
  });

  it("keys the fingerprint on the error class too", () => {
    expect(failureFingerprint(new TypeError(message))).toMatchObject({ errorClass: "TypeError", fingerprint: "b09360652b93b505" });
    expect(failureFingerprint(new InvalidArgumentError("limit must be 10", "limit"))).toMatchObject({
      errorClass: "InvalidArgumentError",
      message: "limit must be 10",
      fingerprint: "61cde2a36a51e047",
    });
  });

  it("wraps a thrown non-Error in an Error of its string form", () => {
    const result = failureFingerprint("boom");
    expect(result).toMatchObject({ errorClass: "Error", message: "boom", fingerprint: "dd3599487ed91066" });
    expect(result.stack?.startsWith("Error: boom\n")).toBe(true);
    expect(failureFingerprint(undefined)).toMatchObject({ errorClass: "Error", message: "undefined" });
    expect(failureFingerprint({ message: "an object" })).toMatchObject({ errorClass: "Error", message: "[object Object]" });
    expect(failureFingerprint(42)).toMatchObject({ errorClass: "Error", message: "42", fingerprint: failureFingerprint(7).fingerprint });
  });

  it("handles an empty message, an empty name and a missing stack", () => {
    expect(failureFingerprint(new Error(""))).toMatchObject({ errorClass: "Error", message: "", fingerprint: "617062906764f3b8" });
    const nameless = new Error("boom");
    nameless.name = "";
    nameless.stack = undefined;
    expect(failureFingerprint(nameless)).toEqual({ errorClass: "Error", message: "boom", stack: null, fingerprint: "dd3599487ed91066" });
  });

  it("keeps unicode text as is and folds only the variable parts", () => {
    const error = new Error(`échec de la réservation «"x"» — 12 € ✓`);
    expect(failureFingerprint(error)).toMatchObject({
      message: `échec de la réservation «"x"» — 12 € ✓`,
      fingerprint: "3881a31206e92fff",
    });
    expect(failureFingerprint(new Error(`échec de la réservation «'autre'» — 7 € ✓`)).fingerprint).toBe("3881a31206e92fff");
  });

  it("tells different messages apart", () => {
    expect(failureFingerprint(new Error("boom")).fingerprint).not.toBe(failureFingerprint(new Error("bang")).fingerprint);
    expect(failureFingerprint(new Error("boom")).fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });
});
