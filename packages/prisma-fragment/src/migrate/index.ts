export { applyDispatcherMigrations, applyPrismaMigrations, MigrationError, type ApplyMigrationsOptions, type ApplyMigrationsResult } from "./apply-migrations.js";
export { dispatcherMigrations, renderFragment, checksumOf, packageRoot, type DispatcherMigration } from "./migrations.js";
