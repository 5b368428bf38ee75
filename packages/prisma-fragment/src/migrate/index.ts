export {
  applyDispatcherMigrations,
  applyPrismaMigrations,
  type ApplyMigrationsOptions,
  type ApplyMigrationsResult,
} from "./apply-migrations.js";
export {
  MigrationError,
  MissingDatabaseUrlError,
  MigrationChecksumMismatchError,
  MigrationFailedEarlierError,
  MigrationFailedError,
  type MigrationErrorCode,
} from "./migration-errors.js";
export { dispatcherMigrations, renderFragment, checksumOf, packageRoot, type DispatcherMigration } from "./migrations.js";
