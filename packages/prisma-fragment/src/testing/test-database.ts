import { createHash, randomBytes } from "node:crypto";
import pg from "pg";
import { applyDispatcherMigrations, applyPrismaMigrations, dispatcherMigrations } from "../migrate/index.js";

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

/**
 * A fresh, empty database on the test server, with the dispatcher tables applied.
 *
 * With the dispatcher migrations (the default), the database is a copy (`CREATE DATABASE ...
 * TEMPLATE`) of a template database the migrations were applied to once per server, schema and
 * migration set: `sguild_tpl_<hash>`, built race-free across processes and kept on the server
 * (connections to it are refused, so copies never fail on one). `migrate: false` creates an empty
 * database; `migrationsDir` creates one and applies that folder to it.
 */
export async function createTestDatabase(options: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  const adminUrl = options.adminUrl ?? process.env[ADMIN_URL_ENV] ?? process.env["TEST_DATABASE_URL"] ?? process.env["DATABASE_URL"];
  if (!adminUrl) {
    throw new Error(
      `createTestDatabase: no server; use setupTestPostgres() as vitest's globalSetup (it starts one), ` +
        `or set ${ADMIN_URL_ENV}, TEST_DATABASE_URL or DATABASE_URL`,
    );
  }
  const migrate = options.migrate ?? true;
  // Only the dispatcher migrations are cloned: the copy is then what migrating would have made.
  const template = migrate && !options.migrationsDir ? dispatcherTemplate(options.schema ?? "public") : undefined;
  const name = `t_${randomBytes(8).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    if (template) await createFromTemplate(admin, adminUrl, name, template);
    else await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(adminUrl, name);
  if (migrate && options.migrationsDir) await applyPrismaMigrations({ connectionString: url, migrationsDir: options.migrationsDir });
  return {
    name,
    url,
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

interface Template {
  /** `sguild_tpl_<hash of the schema and the migrations' names and checksums>`. */
  name: string;
  schema: string;
  /** Advisory lock keys serializing its build on a server. */
  lock: [number, number];
}

const TEMPLATE_LOCK_CLASS = 0x53475444; // "SGTD"

function dispatcherTemplate(schema: string): Template {
  // Throws InvalidSchemaNameError for a schema that is no plain identifier, before anything is created.
  const migrations = dispatcherMigrations(schema);
  const hash = createHash("sha256")
    .update(JSON.stringify([schema, migrations.map((m) => [m.name, m.checksum])]))
    .digest("hex");
  return { name: `sguild_tpl_${hash.slice(0, 24)}`, schema, lock: [TEMPLATE_LOCK_CLASS, Number.parseInt(hash.slice(0, 8), 16) | 0] };
}

function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Templates known to exist, per server and template: built (or found) once per process. */
const readyTemplates = new Map<string, Promise<void>>();

async function createFromTemplate(admin: pg.Client, adminUrl: string, name: string, template: Template): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const key = `${adminUrl}\n${template.name}`;
    let ready = readyTemplates.get(key);
    if (!ready) {
      ready = ensureTemplate(admin, adminUrl, template);
      readyTemplates.set(key, ready);
      ready.catch(() => readyTemplates.delete(key));
    }
    await ready;
    try {
      await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template.name}"`);
      return;
    } catch (error) {
      // 3D000: the template is gone (someone dropped it): build it again, once.
      if ((error as { code?: string }).code !== "3D000" || attempt > 1) throw error;
      if (readyTemplates.get(key) === ready) readyTemplates.delete(key);
    }
  }
}

/**
 * Makes sure the template exists. Builders on one server take turns on an advisory lock; each
 * builds under a temporary name, migrates, closes its connection and renames: the template name
 * only ever names a fully migrated database, even when a builder died half way.
 */
async function ensureTemplate(admin: pg.Client, adminUrl: string, template: Template): Promise<void> {
  const exists = async () => (await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [template.name])).rowCount === 1;
  if (await exists()) return;
  await admin.query("SELECT pg_advisory_lock($1, $2)", template.lock);
  try {
    if (await exists()) return;
    const build = `${template.name}_build`;
    // Left by a builder that died: nobody else builds while we hold the lock.
    await admin.query(`DROP DATABASE IF EXISTS "${build}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${build}"`);
    try {
      // Opens and closes its own connection: a template must have none while it is copied.
      await applyDispatcherMigrations({ connectionString: databaseUrl(adminUrl, build), schema: template.schema });
      await admin.query(`ALTER DATABASE "${build}" WITH ALLOW_CONNECTIONS false`);
      await admin.query(`ALTER DATABASE "${build}" RENAME TO "${template.name}"`);
    } catch (error) {
      await admin.query(`DROP DATABASE IF EXISTS "${build}" WITH (FORCE)`).catch(() => undefined);
      throw error;
    }
  } finally {
    await admin.query("SELECT pg_advisory_unlock($1, $2)", template.lock).catch(() => undefined);
  }
}
