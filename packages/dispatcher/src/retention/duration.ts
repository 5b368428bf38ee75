import { InvalidArgumentError } from "../errors/index.js";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds from a number (ms) or a string like "30d", "12h", "90m", "45s". */
export function parseDuration(value: number | string, argument: string): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  const match = typeof value === "string" ? /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim()) : null;
  if (!match) throw new InvalidArgumentError(`${argument} must be a duration like 30d, 12h, 90m, 45s or a number of ms (got ${JSON.stringify(value)})`, argument);
  return Number(match[1]) * UNITS[match[2]!]!;
}
