import { describe, expect, it, vi } from "vitest";
import * as contracts from "../src/index.js";
import {
  EnvelopeValidationError,
  PayloadValidationError,
  RegistryError,
  SchemaVersionError,
  SguildError,
  UnknownEventTypeError,
  UnknownIdPrefixError,
  type ContractErrorCode,
} from "../src/index.js";

// One instance of every error class the package exports (a new class fails "every class has a sample").
const samples: Record<string, SguildError> = {
  SguildError: new SguildError("ANY", "any"),
  UnknownEventTypeError: new UnknownEventTypeError("credit.lockd"),
  SchemaVersionError: new SchemaVersionError("credit.locked", 9, "not_registered"),
  PayloadValidationError: new PayloadValidationError("credit.locked", 1, []),
  EnvelopeValidationError: new EnvelopeValidationError([]),
  RegistryError: new RegistryError("bad registry"),
  UnknownIdPrefixError: new UnknownIdPrefixError("x"),
};

// The union, spelled out: a code missing here or not in ContractErrorCode does not compile.
const CODES = {
  UNKNOWN_EVENT_TYPE: true,
  SCHEMA_VERSION_NOT_REGISTERED: true,
  NO_PAYLOAD_SCHEMA: true,
  PAYLOAD_INVALID: true,
  ENVELOPE_INVALID: true,
  REGISTRY_INVALID: true,
  UNKNOWN_ID_PREFIX: true,
} satisfies Record<ContractErrorCode, true>;

const exportedErrorClasses = Object.entries(contracts)
  .filter(([, value]) => typeof value === "function" && value.prototype instanceof Error)
  .map(([name]) => name);
const classes = exportedErrorClasses.map((name) => contracts[name as keyof typeof contracts] as unknown as typeof SguildError);

describe("error classes", () => {
  it("every class has a sample", () => {
    expect(exportedErrorClasses.sort()).toEqual(Object.keys(samples).sort());
  });

  it("X.isInstance is true for an X (or a subclass) only: not for another class's error, not for a plain Error", () => {
    for (const cls of classes) {
      for (const [name, sample] of Object.entries(samples)) {
        expect(cls.isInstance(sample), `${cls.name}.isInstance(${name})`).toBe(sample instanceof cls);
      }
      expect(cls.isInstance(samples[cls.name])).toBe(true);
      expect(cls.isInstance(new Error("plain"))).toBe(false);
      expect(cls.isInstance({ code: "REGISTRY_INVALID", message: "look-alike" })).toBe(false);
      expect(cls.isInstance(undefined)).toBe(false);
    }
  });

  it("SguildError.isInstance is true for every one of them", () => {
    for (const sample of Object.values(samples)) expect(SguildError.isInstance(sample)).toBe(true);
  });

  it("isInstance holds across two copies of the package, where instanceof does not", async () => {
    vi.resetModules();
    const copy = await import("../src/index.js");
    expect(copy.RegistryError).not.toBe(RegistryError);
    const foreign = new copy.RegistryError("from the other copy");
    expect(foreign instanceof RegistryError).toBe(false);
    expect(RegistryError.isInstance(foreign)).toBe(true);
    expect(SguildError.isInstance(foreign)).toBe(true);
    expect(UnknownEventTypeError.isInstance(foreign)).toBe(false);
    expect(copy.RegistryError.isInstance(samples.RegistryError)).toBe(true);
  });

  it("ContractErrorCode lists exactly the codes the classes carry", () => {
    const thrown = [
      ...Object.values(samples).filter((e) => e.constructor !== SguildError),
      new SchemaVersionError("credit.locked", 1, "no_payload_schema"),
    ].map((e) => e.code);
    expect([...new Set(thrown)].sort()).toEqual(Object.keys(CODES).sort());
  });
});
