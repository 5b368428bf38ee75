import { describe, expect, expectTypeOf, it, vi } from "vitest";
import { SguildError } from "@sguild/contracts";
import * as root from "../src/index.js";
import * as testing from "../src/testing/index.js";
import { DevDatabaseError, type DevDatabaseErrorCode } from "../src/dev/dev-database.js";
import {
  FragmentConflictError,
  InvalidSchemaNameError,
  MigrationChecksumMismatchError,
  MigrationError,
  MigrationFailedEarlierError,
  MigrationFailedError,
  MissingDatabaseUrlError,
  type PrismaFragmentErrorCode,
} from "../src/index.js";
import { EmbeddedPostgresError, type EmbeddedPostgresErrorCode } from "../src/testing/index.js";

// One instance of every error class the package has (a new exported class fails "every class has a sample").
const samples: Record<string, SguildError> = {
  MigrationError: new MigrationError("MIGRATION_FAILED", "any"),
  MissingDatabaseUrlError: new MissingDatabaseUrlError(),
  MigrationChecksumMismatchError: new MigrationChecksumMismatchError("20250101000000_init", "a", "b"),
  MigrationFailedEarlierError: new MigrationFailedEarlierError("20250101000000_init"),
  MigrationFailedError: new MigrationFailedError("20250101000000_init", new Error("syntax error")),
  FragmentConflictError: new FragmentConflictError(["model DispatcherEvent exists with another shape"]),
  InvalidSchemaNameError: new InvalidSchemaNameError(""),
  EmbeddedPostgresError: new EmbeddedPostgresError("EMBEDDED_POSTGRES_PORT_IN_USE", "in use"),
  DevDatabaseError: new DevDatabaseError("INVALID_DATABASE_NAME", "bad name"),
};

// The union, spelled out: a code missing here or not in PrismaFragmentErrorCode does not compile.
const CODES = {
  MISSING_DATABASE_URL: true,
  MIGRATION_CHECKSUM_MISMATCH: true,
  MIGRATION_FAILED_EARLIER: true,
  MIGRATION_FAILED: true,
  FRAGMENT_CONFLICT: true,
  INVALID_SCHEMA_NAME: true,
  INVALID_DATABASE_NAME: true,
  MIGRATIONS_DIR_NOT_FOUND: true,
  EMBEDDED_POSTGRES_NOT_INSTALLED: true,
  EMBEDDED_POSTGRES_NO_BINARIES: true,
  EMBEDDED_POSTGRES_NO_USER: true,
  EMBEDDED_POSTGRES_UNREACHABLE: true,
  EMBEDDED_POSTGRES_PORT_IN_USE: true,
  EMBEDDED_POSTGRES_DATA_DIR: true,
  EMBEDDED_POSTGRES_INIT_FAILED: true,
  EMBEDDED_POSTGRES_START_FAILED: true,
} satisfies Record<PrismaFragmentErrorCode, true>;

const errorClasses = (module: Record<string, unknown>) =>
  Object.entries(module).filter(
    (entry): entry is [string, typeof SguildError] => typeof entry[1] === "function" && entry[1].prototype instanceof Error,
  );
const classes = [...errorClasses(root), ...errorClasses(testing), ["DevDatabaseError", DevDatabaseError] as [string, typeof SguildError]];

describe("error classes", () => {
  it("every class has a sample", () => {
    expect(classes.map(([name]) => name).sort()).toEqual(Object.keys(samples).sort());
  });

  it("X.isInstance is true for an X (or a subclass) only: not for another class's error, not for a plain Error", () => {
    for (const [className, cls] of classes) {
      for (const [name, sample] of Object.entries(samples)) {
        expect(cls.isInstance(sample), `${className}.isInstance(${name})`).toBe(sample instanceof cls);
      }
      expect(cls.isInstance(new Error("plain"))).toBe(false);
      expect(cls.isInstance({ code: "MIGRATION_FAILED" })).toBe(false);
    }
    expect(MigrationError.isInstance(samples.MigrationFailedError)).toBe(true);
    expect(MigrationFailedError.isInstance(samples.MigrationChecksumMismatchError)).toBe(false);
    for (const sample of Object.values(samples)) expect(SguildError.isInstance(sample)).toBe(true);
  });

  it("isInstance holds across two copies of the module, where instanceof does not", async () => {
    vi.resetModules();
    const copy = await import("../src/index.js");
    const foreign = new copy.MigrationFailedError("20250101000000_init", new Error("x"));
    expect(foreign instanceof MigrationFailedError).toBe(false);
    expect([
      MigrationFailedError.isInstance(foreign),
      MigrationError.isInstance(foreign),
      MissingDatabaseUrlError.isInstance(foreign),
    ]).toEqual([true, true, false]);
  });

  it("PrismaFragmentErrorCode lists exactly the codes the classes carry", () => {
    // EmbeddedPostgresError and DevDatabaseError take their code as an argument, typed by their own unions
    expectTypeOf<ConstructorParameters<typeof EmbeddedPostgresError>[0]>().toEqualTypeOf<EmbeddedPostgresErrorCode>();
    expectTypeOf<ConstructorParameters<typeof DevDatabaseError>[0]>().toEqualTypeOf<DevDatabaseErrorCode>();
    const given: Record<EmbeddedPostgresErrorCode | DevDatabaseErrorCode, true> = {
      EMBEDDED_POSTGRES_NOT_INSTALLED: true,
      EMBEDDED_POSTGRES_NO_BINARIES: true,
      EMBEDDED_POSTGRES_NO_USER: true,
      EMBEDDED_POSTGRES_UNREACHABLE: true,
      EMBEDDED_POSTGRES_PORT_IN_USE: true,
      EMBEDDED_POSTGRES_DATA_DIR: true,
      EMBEDDED_POSTGRES_INIT_FAILED: true,
      EMBEDDED_POSTGRES_START_FAILED: true,
      INVALID_DATABASE_NAME: true,
      MIGRATIONS_DIR_NOT_FOUND: true,
    };
    const carried = Object.entries(samples)
      .filter(([name]) => !["MigrationError", "EmbeddedPostgresError", "DevDatabaseError"].includes(name))
      .map(([, error]) => error.code);
    expect([...new Set([...carried, ...Object.keys(given)])].sort()).toEqual(Object.keys(CODES).sort());
  });
});
