import { randomUUID } from "node:crypto";
import pg from "pg";
import { quoteSchema } from "../schema/identifier.js";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checksumOf, dispatcherMigrations, type DispatcherMigration } from "./migrations.js";
import {
  MigrationChecksumMismatchError,
  MigrationFailedEarlierError,
  MigrationFailedError,
  MissingDatabaseUrlError,
} from "./migration-errors.js";

export interface ApplyMigrationsOptions {
  /** Postgres URL; used when no `client` is given. Default: DATABASE_URL. */
  connectionString?: string;
  /** A connected pg client to run on instead of opening one. */
  client?: pg.ClientBase;
  /** Schema holding the dispatcher tables. Default `public`. */
  schema?: string;
  /** Schema of `_prisma_migrations` (Prisma's own: the datasource's schema). Default `public`. */
  migrationsTableSchema?: string;
}

export interface ApplyMigrationsResult {
  applied: string[];
  alreadyApplied: string[];
}

// The advisory lock id `prisma migrate` takes, so our apply and Prisma's never interleave.
const PRISMA_MIGRATE_LOCK = 72707369;

const createMigrationsTableSql = (table: string) => `CREATE TABLE IF NOT EXISTS ${table} (
    "id" VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;
const selectAppliedSql = (table: string) =>
  `SELECT checksum, finished_at FROM ${table} WHERE migration_name = $1 AND rolled_back_at IS NULL`;
const insertStartedSql = (table: string) =>
  `INSERT INTO ${table} (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`;
const markFinishedSql = (table: string) => `UPDATE ${table} SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`;

/**
 * Applies the dispatcher migrations over `pg` and records each in `_prisma_migrations` exactly as
 * `prisma migrate deploy` would (same columns, the file's sha256), so Prisma later sees them as
 * applied. Each migration runs in its own transaction; applying twice is a no-op.
 */
export async function applyDispatcherMigrations(options: ApplyMigrationsOptions = {}): Promise<ApplyMigrationsResult> {
  return applyMigrations(dispatcherMigrations(options.schema ?? "public"), options);
}

/**
 * Applies every `<migrationsDir>/<name>/migration.sql` not applied yet, oldest first, recording
 * each as `prisma migrate deploy` does: for a domain's whole Prisma migrations folder (its own
 * tables plus the merged dispatcher migration) where Prisma's engine is not available.
 */
export async function applyPrismaMigrations(
  options: Omit<ApplyMigrationsOptions, "schema"> & { migrationsDir: string },
): Promise<ApplyMigrationsResult> {
  const migrations = readdirSync(options.migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(options.migrationsDir, entry.name, "migration.sql")))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(options.migrationsDir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: checksumOf(sql) };
    });
  return applyMigrations(migrations, options);
}

async function applyMigrations(
  migrations: DispatcherMigration[],
  options: Omit<ApplyMigrationsOptions, "schema">,
): Promise<ApplyMigrationsResult> {
  const table = `${quoteSchema(options.migrationsTableSchema ?? "public")}."_prisma_migrations"`;
  const connectionString = options.connectionString ?? process.env["DATABASE_URL"];
  if (!options.client && !connectionString) {
    throw new MissingDatabaseUrlError();
  }
  const client = options.client ?? new pg.Client({ connectionString });
  if (!options.client) await client.connect();
  const result: ApplyMigrationsResult = { applied: [], alreadyApplied: [] };
  try {
    await client.query("SELECT pg_advisory_lock($1)", [PRISMA_MIGRATE_LOCK]);
    await client.query(createMigrationsTableSql(table));
    for (const migration of migrations) {
      const { rows } = await client.query<{ checksum: string; finished_at: Date | null }>(selectAppliedSql(table), [migration.name]);
      const previous = rows[0];
      if (previous?.finished_at && previous.checksum === migration.checksum) {
        result.alreadyApplied.push(migration.name);
        continue;
      }
      if (previous) {
        throw previous.finished_at
          ? new MigrationChecksumMismatchError(migration.name, previous.checksum, migration.checksum)
          : new MigrationFailedEarlierError(migration.name);
      }
      await runOne(client, table, migration);
      result.applied.push(migration.name);
    }
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [PRISMA_MIGRATE_LOCK]).catch(() => undefined);
    if (!options.client) await (client as pg.Client).end();
  }
  return result;
}

async function runOne(client: pg.ClientBase, table: string, migration: { name: string; sql: string; checksum: string }): Promise<void> {
  const id = randomUUID();
  await client.query("BEGIN");
  try {
    await client.query(insertStartedSql(table), [id, migration.checksum, migration.name]);
    await client.query(migration.sql);
    await client.query(markFinishedSql(table), [id]);
    await client.query("COMMIT");
  } catch (cause) {
    await client.query("ROLLBACK");
    throw new MigrationFailedError(migration.name, cause);
  }
}
