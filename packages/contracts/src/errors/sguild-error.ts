const marker = Symbol.for("sguild.error");

/**
 * Base class of every error the Sguild packages throw. `code` is stable across releases and
 * is what callers match on; `isInstance` works even when two copies of a package are installed.
 *
 * Each subclass brands its instances with its own `Symbol.for("sguild.error.<ClassName>")` and
 * overrides `isInstance` to check that brand, so `NoHandlerError.isInstance(e)` holds for a
 * NoHandlerError (or a subclass of it) only. A registered symbol is the same in the ESM and the
 * CJS build and in two installed versions; the classes themselves are not, so `instanceof` is not enough.
 */
export class SguildError extends Error {
  readonly [marker] = true;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
  }

  static isInstance(value: unknown): value is SguildError {
    return SguildError.hasMarker(value, marker);
  }

  /** Whether `value` carries the brand `marker`; what every subclass's `isInstance` checks. */
  protected static hasMarker(value: unknown, marker: symbol): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}

/** Every code the errors of @sguild/contracts carry. */
export type ContractErrorCode =
  | "UNKNOWN_EVENT_TYPE"
  | "SCHEMA_VERSION_NOT_REGISTERED"
  | "NO_PAYLOAD_SCHEMA"
  | "PAYLOAD_INVALID"
  | "ENVELOPE_INVALID"
  | "REGISTRY_INVALID"
  | "UNKNOWN_ID_PREFIX";
