import { InvalidArgumentError } from "../errors/index.js";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The forms parseDuration accepts, as its error message and the CLI's help say them. */
export const DURATION_FORMS = "a number with a unit ms, s, m, h or d (500ms, 45s, 90m, 12h, 30d, 1.5h) or a plain number of milliseconds";

/** Milliseconds from a number (ms) or a string: "30d", "12h", "90m", "45s", "500ms", "1.5h", or "5000" (ms). */
export function parseDuration(value: number | string, argument: string): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  const match = typeof value === "string" ? /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim()) : null;
  if (!match) throw new InvalidArgumentError(`${argument} must be ${DURATION_FORMS} (got ${JSON.stringify(value)})`, argument);
  return Number(match[1]) * UNITS[match[2] ?? "ms"]!;
}
