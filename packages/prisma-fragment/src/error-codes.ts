import type { DevDatabaseErrorCode } from "./dev/dev-database.js";
import type { EmbeddedPostgresErrorCode } from "./embedded/errors.js";
import type { MigrationErrorCode } from "./migrate/migration-errors.js";

/**
 * Every `code` an error of @sguild/prisma-fragment carries: applying migrations, merging the
 * fragment, schema names, and the embedded / dev PostgreSQL of `./testing` and the `dev` command.
 */
export type PrismaFragmentErrorCode =
  MigrationErrorCode | "FRAGMENT_CONFLICT" | "INVALID_SCHEMA_NAME" | DevDatabaseErrorCode | EmbeddedPostgresErrorCode;
