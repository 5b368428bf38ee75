import { describe, expect, it } from "vitest";
import { SguildError } from "@sguild/contracts";
import { parseDuration } from "../../src/retention/duration.js";

function failure(value: unknown, argument = "olderThan"): SguildError {
  try {
    parseDuration(value as number | string, argument);
  } catch (error) {
    return error as SguildError;
  }
  throw new Error(`parseDuration(${JSON.stringify(value)}) did not throw`);
}

describe("parseDuration", () => {
  it.each([
    ["30d", 2_592_000_000],
    ["12h", 43_200_000],
    ["90m", 5_400_000],
    ["45s", 45_000],
    ["500ms", 500],
    ["1.5h", 5_400_000],
    ["0.5s", 500],
    ["5000", 5000],
    ["0", 0],
    ["0d", 0],
    ["1.5", 1.5],
    [" 45s ", 45_000],
    ["\t12h\n", 43_200_000],
    ["007s", 7000],
  ])("reads %j as %d ms", (value, ms) => {
    expect(parseDuration(value, "olderThan")).toBe(ms);
  });

  it.each([
    [0, 0],
    [1, 1],
    [1.5, 1.5],
    [86_400_000, 86_400_000],
    [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  ])("takes the number %d as milliseconds", (value, ms) => {
    expect(parseDuration(value, "olderThan")).toBe(ms);
  });

  it.each([
    "",
    " ",
    "-5s",
    "5 s",
    "5S",
    "5H",
    "5sec",
    "1e3",
    ".5h",
    "5.",
    "1,5h",
    "ms",
    "5w",
    "5y",
    "1h30m",
    "+5s",
    "٣s", // ARABIC-INDIC DIGIT THREE
    "５s", // FULLWIDTH DIGIT FIVE
    "5ｓ", // FULLWIDTH LATIN SMALL LETTER S
  ])("refuses the string %j with INVALID_ARGUMENT", (value) => {
    const error = failure(value);
    expect(error).toBeInstanceOf(SguildError);
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.details).toEqual({ argument: "olderThan" });
  });

  it.each([-1, -0.001, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    "refuses the number %d with INVALID_ARGUMENT",
    (value) => {
      expect(failure(value).code).toBe("INVALID_ARGUMENT");
    },
  );

  it.each([null, undefined, true, {}, ["5s"]])("refuses the non-duration %j with INVALID_ARGUMENT", (value) => {
    expect(failure(value).code).toBe("INVALID_ARGUMENT");
  });

  it("names the argument it was given in the error", () => {
    const error = failure("soon", "--older-than");
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.details).toEqual({ argument: "--older-than" });
    expect(error.message).toContain("--older-than");
    expect(error.message).toContain(`"soon"`);
  });
});
