import { randomBytes } from "node:crypto";
import pg from "pg";
import { applyDispatcherMigrations, applyPrismaMigrations } from "../migrate/index.js";

export const ADMIN_URL_ENV = "SGUILD_TEST_ADMIN_URL";

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export interface CreateTestDatabaseOptions {
  /** Server admin URL; default: SGUILD_TEST_ADMIN_URL (set by the global setup), TEST_DATABASE_URL, DATABASE_URL. */
  adminUrl?: string;
  /** Apply the dispatcher migrations. Default true. */
  migrate?: boolean;
  /** Schema for the dispatcher tables. Default `public`. */
  schema?: string;
  /**
   * Apply this whole Prisma migrations folder instead (your tables and, after `merge`, the
   * dispatcher's), as `prisma migrate deploy` would. Default: the dispatcher tables only.
   */
  migrationsDir?: string;
}

/** A fresh, empty database on the test server, with the dispatcher tables applied. */
export async function createTestDatabase(options: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  const adminUrl = options.adminUrl ?? process.env[ADMIN_URL_ENV] ?? process.env["TEST_DATABASE_URL"] ?? process.env["DATABASE_URL"];
  if (!adminUrl) {
    throw new Error(
      `createTestDatabase: no server; use setupTestPostgres() as vitest's globalSetup (it starts one), or set ${ADMIN_URL_ENV}, TEST_DATABASE_URL or DATABASE_URL`,
    );
  }
  const name = `t_${randomBytes(8).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  if (options.migrate ?? true) {
    if (options.migrationsDir) await applyPrismaMigrations({ connectionString: url.toString(), migrationsDir: options.migrationsDir });
    else await applyDispatcherMigrations({ connectionString: url.toString(), schema: options.schema });
  }
  return {
    name,
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
