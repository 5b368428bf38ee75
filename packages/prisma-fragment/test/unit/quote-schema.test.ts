import { describe, expect, it } from "vitest";
import { SguildError } from "@sguild/contracts";
import { InvalidSchemaNameError, quoteSchema } from "../../src/schema/identifier.js";

describe("quoteSchema", () => {
  it.each([
    ["public", `"public"`],
    ["sguild_events", `"sguild_events"`],
    ["_", `"_"`],
    ["_x1", `"_x1"`],
    ["Events", `"Events"`],
    ["a1b2", `"a1b2"`],
    ["a".repeat(63), `"${"a".repeat(63)}"`],
  ])("double-quotes the plain identifier %j", (schema, quoted) => {
    expect(quoteSchema(schema)).toBe(quoted);
  });

  it.each([
    "",
    "1abc",
    "a".repeat(64),
    `a"b`,
    `"public"`,
    "a-b",
    "a b",
    "a.b",
    "public;DROP SCHEMA public",
    "a\n",
    "\npublic",
    "é",
    "schéma",
    "事件",
    "a\u0000",
    "$1",
  ])("refuses %j with INVALID_SCHEMA_NAME", (schema) => {
    let error: unknown;
    try {
      quoteSchema(schema);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidSchemaNameError);
    expect(error).toBeInstanceOf(SguildError);
    expect((error as InvalidSchemaNameError).code).toBe("INVALID_SCHEMA_NAME");
    expect((error as InvalidSchemaNameError).schema).toBe(schema);
  });

  it("refuses a number that is no identifier with INVALID_SCHEMA_NAME", () => {
    expect(() => quoteSchema(42 as unknown as string)).toThrow(expect.objectContaining({ code: "INVALID_SCHEMA_NAME", schema: 42 }));
  });
});
