import { Command, Option } from "commander";
import { tablesFor } from "../config/index.js";
import { fromPgPool, openPool, type Database } from "../database/index.js";
import { Progress } from "./progress.js";
import { DEFAULTS } from "../config/defaults.js";

export interface Globals {
  databaseUrl?: string;
  schema: string;
  json?: boolean;
  progress?: boolean;
}

export const program = new Command("sguild-dispatcher")
  .description("Operate the Sguild dispatcher: consumer status, dead letters, live tail, cursor rewind and drop, retention.")
  .addOption(new Option("--database-url <url>", "Postgres URL (without it and DATABASE_URL: DATABASE_URL from ./.env)").env("DATABASE_URL"))
  .option("--schema <name>", "Postgres schema of the dispatcher tables", "public")
  .option("--json", "machine-readable output (camelCase keys)")
  .option("--progress", "progress lines on stderr for long work, also when stderr is not a terminal")
  .option("--no-progress", "no progress lines, not even on a terminal")
  .exitOverride()
  // Commander's own errors (an unknown or missing option) in the CLI's one-line form, as every other error.
  .configureOutput({
    writeErr: (text) => process.stderr.write(text),
    outputError: (text, write) => write(text.replace(/^error: /, "sguild-dispatcher: ")),
  });

/** A command used wrongly: exit 2 with the message. */
export class UsageError extends Error {}

export const globals = () => program.opts<Globals>();

let opened: Database | undefined;
export function connect(): { db: Database; tables: ReturnType<typeof tablesFor>; globals: Globals } {
  const options = globals();
  if (!options.databaseUrl) throw new UsageError("no database: pass --database-url, set DATABASE_URL or put DATABASE_URL in ./.env");
  const pool = openPool(options.databaseUrl, undefined, {
    max: DEFAULTS.pools.smallMax,
    connectionTimeoutMillis: DEFAULTS.pools.connectTimeoutMs,
  });
  opened = fromPgPool(pool, true);
  return { db: opened, tables: tablesFor(options.schema), globals: options };
}

export async function disconnect(): Promise<void> {
  await opened?.close().catch(() => undefined);
}

/** JSON (two-space indented, camelCase keys) with --json, else the text. */
export const print = (json: unknown, text: () => string) => console.log(globals().json ? JSON.stringify(json, null, 2) : text());

export const progress = () => new Progress(process.stderr, globals().progress);

// cursor reset, cursor drop and prune change or delete rows: without --yes they refuse (exit 2) before connecting.
export const confirmOptions = (command: Command) =>
  command
    .addOption(new Option("--yes", "really do it"))
    .addOption(new Option("--dry-run", "print what it would do; change nothing").conflicts("yes"));
export const refuseUnconfirmed = (opts: { yes?: boolean; dryRun?: boolean }, what: string) => {
  if (!opts.yes && !opts.dryRun) throw new UsageError(`${what}: pass --yes to do it, or --dry-run to see what it would do`);
};
