import { randomBytes } from "node:crypto";
import pg from "pg";
import { applyDispatcherMigrations } from "../migrate/index.js";

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
}

/** A fresh, empty database on the test server, with the dispatcher tables applied. */
export async function createTestDatabase(options: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  const adminUrl = options.adminUrl ?? process.env[ADMIN_URL_ENV] ?? process.env["TEST_DATABASE_URL"] ?? process.env["DATABASE_URL"];
  if (!adminUrl) throw new Error(`createTestDatabase: no server; set ${ADMIN_URL_ENV} or DATABASE_URL, or use setupTestPostgres()`);
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
  if (options.migrate ?? true) await applyDispatcherMigrations({ connectionString: url.toString(), schema: options.schema });
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
