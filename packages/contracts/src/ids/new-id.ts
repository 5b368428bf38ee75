import { v7 } from "uuid";
import { ID_PREFIXES } from "../catalog/generated.js";
import { SguildError } from "../errors/index.js";

export { ID_PREFIXES };

/** An id prefix the contracts use: `per`, `lead`, `crr`, `les`, ... */
export type IdPrefix = (typeof ID_PREFIXES)[number];

/** `<prefix>_<UUID v7>`, the shape every id in the contracts has. */
export type PrefixedId<P extends string = IdPrefix> = `${P}_${string}`;

const UUID_V7 = "[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

const unknownIdPrefixErrorBrand = Symbol.for("sguild.error.UnknownIdPrefixError");
export class UnknownIdPrefixError extends SguildError {
  private readonly [unknownIdPrefixErrorBrand] = true;

  constructor(readonly prefix: unknown) {
    super("UNKNOWN_ID_PREFIX", `id prefix ${JSON.stringify(prefix)} is not one the contracts use (${ID_PREFIXES.join(", ")})`, {
      details: { prefix },
    });
  }

  static override isInstance(value: unknown): value is UnknownIdPrefixError {
    return SguildError.hasMarker(value, unknownIdPrefixErrorBrand);
  }
}

function checkPrefix(prefix: unknown): asserts prefix is IdPrefix {
  if (!(ID_PREFIXES as readonly unknown[]).includes(prefix)) throw new UnknownIdPrefixError(prefix);
}

/**
 * A new id for a payload field: `newId("lead")` is `lead_<UUID v7>`, which sorts by creation time.
 * The prefix is checked at compile time and at run time (UnknownIdPrefixError, UNKNOWN_ID_PREFIX).
 */
export function newId<P extends IdPrefix>(prefix: P): PrefixedId<P> {
  checkPrefix(prefix);
  return `${prefix}_${v7()}`;
}

/** True when `value` is `<prefix>_<UUID v7>` (lower-case hex, as the schemas' patterns require). */
export function isId<P extends IdPrefix>(prefix: P, value: unknown): value is PrefixedId<P> {
  checkPrefix(prefix);
  return typeof value === "string" && new RegExp(`^${prefix}_${UUID_V7}$`).test(value);
}
