import { SguildError } from "@sguild/contracts";

/** The codes of the MigrationError subclasses, one per way applying migrations fails. */
export type MigrationErrorCode = "MISSING_DATABASE_URL" | "MIGRATION_CHECKSUM_MISMATCH" | "MIGRATION_FAILED_EARLIER" | "MIGRATION_FAILED";

const migrationErrorBrand = Symbol.for("sguild.error.MigrationError");
/** Applying migrations failed; `MigrationError.isInstance` holds for each of the subclasses below. */
export class MigrationError extends SguildError {
  private readonly [migrationErrorBrand] = true;

  static override isInstance(value: unknown): value is MigrationError {
    return SguildError.hasMarker(value, migrationErrorBrand);
  }
}

const missingDatabaseUrlErrorBrand = Symbol.for("sguild.error.MissingDatabaseUrlError");
/** Neither `client` nor `connectionString` was given and DATABASE_URL is not set: no database to apply to. */
export class MissingDatabaseUrlError extends MigrationError {
  private readonly [missingDatabaseUrlErrorBrand] = true;

  constructor() {
    super("MISSING_DATABASE_URL", "applyDispatcherMigrations needs `client`, `connectionString` or DATABASE_URL");
  }

  static override isInstance(value: unknown): value is MissingDatabaseUrlError {
    return SguildError.hasMarker(value, missingDatabaseUrlErrorBrand);
  }
}

const migrationChecksumMismatchErrorBrand = Symbol.for("sguild.error.MigrationChecksumMismatchError");
/** The migration was applied from a file that has changed since (its sha256 differs from the recorded one). */
export class MigrationChecksumMismatchError extends MigrationError {
  private readonly [migrationChecksumMismatchErrorBrand] = true;

  constructor(
    readonly migration: string,
    readonly appliedChecksum: string,
    readonly fileChecksum: string,
  ) {
    super("MIGRATION_CHECKSUM_MISMATCH", `${migration} was applied with checksum ${appliedChecksum}, the file now has ${fileChecksum}`, {
      details: { migration, appliedChecksum, fileChecksum },
    });
  }

  static override isInstance(value: unknown): value is MigrationChecksumMismatchError {
    return SguildError.hasMarker(value, migrationChecksumMismatchErrorBrand);
  }
}

const migrationFailedEarlierErrorBrand = Symbol.for("sguild.error.MigrationFailedEarlierError");
/** The migration is recorded as started and never finished (an earlier run failed in it): Prisma wants it resolved first. */
export class MigrationFailedEarlierError extends MigrationError {
  private readonly [migrationFailedEarlierErrorBrand] = true;

  constructor(readonly migration: string) {
    super("MIGRATION_FAILED_EARLIER", `${migration} started earlier and never finished; resolve it with \`prisma migrate resolve\``, {
      details: { migration },
    });
  }

  static override isInstance(value: unknown): value is MigrationFailedEarlierError {
    return SguildError.hasMarker(value, migrationFailedEarlierErrorBrand);
  }
}

const migrationFailedErrorBrand = Symbol.for("sguild.error.MigrationFailedError");
/** The migration's SQL failed; its transaction was rolled back and nothing of it was recorded. `cause` is PostgreSQL's error. */
export class MigrationFailedError extends MigrationError {
  private readonly [migrationFailedErrorBrand] = true;

  constructor(
    readonly migration: string,
    cause: unknown,
  ) {
    super("MIGRATION_FAILED", `${migration} failed: ${(cause as Error).message}`, { cause, details: { migration } });
  }

  static override isInstance(value: unknown): value is MigrationFailedError {
    return SguildError.hasMarker(value, migrationFailedErrorBrand);
  }
}
