const marker = Symbol.for("sguild.error");

/**
 * Base class of every error the Sguild packages throw. `code` is stable across releases and
 * is what callers match on; `isInstance` works even when two copies of a package are installed.
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
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}
