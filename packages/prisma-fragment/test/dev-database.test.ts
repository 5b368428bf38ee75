// `sguild-prisma-fragment dev` as a child process on scratch projects: starts, applies the
// migrations, prints DATABASE_URL, stops on SIGTERM / SIGINT with exit code 0, keeps the data.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { createHash } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";

const CLI = resolve("bin/sguild-prisma-fragment.mjs");
const ROOT = process.getuid?.() === 0;
const DISPATCHER = ["20261123000000_dispatcher", "20261127000000_cursor_start", "20261202000000_index_reads", "20261202000100_console"];
const TABLES = ["dispatcher_consumer_instance", "dispatcher_cursor", "dispatcher_dead_letter", "dispatcher_dedup", "dispatcher_event"];
const postgresUid = ROOT ? Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim()) : process.getuid!();
const asRoot = ROOT ? ", running as the postgres user" : "";
const cleanup: string[] = [];

afterAll(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

function bareEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ["DATABASE_URL", "TEST_DATABASE_URL", "SGUILD_TEST_ADMIN_URL"]) delete env[key];
  return env;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  const free = await new Promise<boolean>((r) => {
    server.once("error", () => r(false));
    server.listen(port, "127.0.0.1", () => r(true));
  });
  if (free) await new Promise((r) => server.close(r));
  return free;
}

interface Running {
  child: ChildProcess;
  output: () => string;
  /** Sends the signal; resolves with the exit code and everything printed. */
  stop(signal: NodeJS.Signals): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts `dev` and waits until it says it is ready. */
async function startDev(cwd: string, args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [CLI, "dev", ...args], { cwd, env: bareEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const exited = once(child, "exit") as Promise<[number | null]>;
  await new Promise<void>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`dev not ready after 90 s:\n${stdout}${stderr}`)), 90_000);
    const check = () => {
      if (!stdout.includes("ready; Ctrl-C stops it\n")) return;
      clearTimeout(timer);
      resolvePromise();
    };
    child.stdout!.on("data", check);
    void exited.then(([code]) => {
      clearTimeout(timer);
      reject(new Error(`dev exited with ${code} before it was ready:\n${stdout}${stderr}`));
    });
  });
  return {
    child,
    output: () => stdout,
    stop: async (signal) => {
      child.kill(signal);
      const [code] = await exited;
      return { code, stdout, stderr };
    },
  };
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe("sguild-prisma-fragment dev", () => {
  it("starts, applies prisma/migrations, prints DATABASE_URL, stops on SIGTERM, and keeps the data for the next start", async () => {
    const project = mkdtempSync(join(tmpdir(), "sguild-dev-"));
    cleanup.push(project);
    chmodSync(project, 0o755);
    mkdirSync(join(project, "prisma/migrations/20250101000000_leads"), { recursive: true });
    cpSync("test/fixtures/domain-schema.prisma", join(project, "prisma/schema.prisma"));
    writeFileSync(
      join(project, "prisma/migrations/20250101000000_leads/migration.sql"),
      'CREATE TABLE "lead" ("id" TEXT PRIMARY KEY, "name" TEXT NOT NULL);\n',
    );
    expect(spawnSync(process.execPath, [CLI, "merge"], { cwd: project, encoding: "utf8" }).status).toBe(0);
    writeFileSync(join(project, ".env"), "FOO=1\nDATABASE_URL=postgres://old@example/db\n");
    writeFileSync(join(project, ".gitignore"), "node_modules/\n");
    const port = await freePort();
    const url = `postgres://postgres:postgres@127.0.0.1:${port}/dev`;
    const dataDir = join(project, ".sguild/postgres");

    const first = await startDev(project, ["--port", String(port), "--write-env"]);
    expect(first.output()).toBe(
      [
        `PostgreSQL 18.4 (embedded) on 127.0.0.1:${port}${asRoot}`,
        `data: ${dataDir} (created; kept between runs)`,
        `migrations from prisma/migrations: applied 20250101000000_leads, ${DISPATCHER.join(", ")}; already applied none`,
        `DATABASE_URL=${url}`,
        ".env: DATABASE_URL updated",
        "note: add .sguild/ to .gitignore",
        "ready; Ctrl-C stops it",
        "",
      ].join("\n"),
    );
    expect(readFileSync(join(project, ".env"), "utf8")).toBe(`FOO=1\nDATABASE_URL=${url}\n`);
    expect(lstatSync(dataDir).uid).toBe(postgresUid);
    const tables = await query<{ table_name: string }>(
      url,
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    );
    expect(tables.map((t) => t.table_name)).toEqual(["_prisma_migrations", ...TABLES, "lead"]);
    await query(url, "INSERT INTO lead (id, name) VALUES ('lead_1', 'Ada')");

    const stopped = await first.stop("SIGTERM");
    expect([stopped.code, stopped.stderr]).toEqual([0, ""]);
    expect(stopped.stdout.endsWith("ready; Ctrl-C stops it\nSIGTERM: stopping PostgreSQL\nPostgreSQL stopped\n")).toBe(true);
    expect(await portIsFree(port)).toBe(true);
    expect(existsSync(join(dataDir, "postmaster.pid"))).toBe(false);

    const second = await startDev(project, ["--port", String(port)]);
    expect(second.output()).toBe(
      [
        `PostgreSQL 18.4 (embedded) on 127.0.0.1:${port}${asRoot}`,
        `data: ${dataDir} (reused; kept between runs)`,
        `migrations from prisma/migrations: applied none; already applied 20250101000000_leads, ${DISPATCHER.join(", ")}`,
        `DATABASE_URL=${url}`,
        "note: add .sguild/ to .gitignore",
        "ready; Ctrl-C stops it",
        "",
      ].join("\n"),
    );
    expect(await query(url, "SELECT id, name FROM lead")).toEqual([{ id: "lead_1", name: "Ada" }]);
    const again = await second.stop("SIGINT");
    expect([again.code, again.stderr, again.stdout.endsWith("SIGINT: stopping PostgreSQL\nPostgreSQL stopped\n")]).toEqual([0, "", true]);
    expect(await portIsFree(port)).toBe(true);
  }, 240_000);

  it(
    "from a 0700 project without a migrations folder: " +
      "the dispatcher tables, the data where the server's user can reach it, removed once the project is gone",
    async () => {
      const secret = mkdtempSync(join(tmpdir(), "sguild-dev-0700-"));
      cleanup.push(secret);
      const project = join(secret, "my app");
      mkdirSync(project);
      const port = await freePort();
      const url = `postgres://postgres:postgres@127.0.0.1:${port}/dev`;
      const keptFor = (dir: string) =>
        `/var/lib/sguild/dev-postgres/${basename(dir).replace(/ /g, "_")}-${createHash("sha256").update(dir).digest("hex").slice(0, 12)}`;
      const kept = keptFor(project);
      if (ROOT) cleanup.push(kept, `${kept}.project`);
      const dataDir = ROOT ? kept : join(project, ".sguild/postgres");
      // Data other runs kept for projects since moved or deleted is named on a line of its own.
      const removalNote = /^note: data kept for projects no longer found at their path .*\n/m;

      const dev = await startDev(project, ["--port", String(port)]);
      expect(dev.output().replace(removalNote, "")).toBe(
        [
          `PostgreSQL 18.4 (embedded) on 127.0.0.1:${port}${asRoot}`,
          `data: ${dataDir} (created; kept between runs)`,
          ...(ROOT
            ? [
                `note: running as root, PostgreSQL runs as the postgres user, who cannot enter ${secret} (mode 0700): ` +
                  `the data is kept in ${kept} instead of ${project}/.sguild/postgres`,
              ]
            : []),
          `migrations from the dispatcher fragment (no prisma/migrations): applied ${DISPATCHER.join(", ")}; already applied none`,
          `DATABASE_URL=${url}`,
          "ready; Ctrl-C stops it",
          "",
        ].join("\n"),
      );
      const tables = await query<{ table_name: string }>(
        url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
      );
      expect(tables.map((t) => t.table_name)).toEqual(["_prisma_migrations", ...TABLES]);
      const stopped = await dev.stop("SIGTERM");
      expect([stopped.code, stopped.stderr]).toEqual([0, ""]);
      expect(await portIsFree(port)).toBe(true);
      expect(existsSync(join(dataDir, "PG_VERSION"))).toBe(true);
      if (ROOT) expect(readFileSync(`${kept}.project`, "utf8")).toBe(`${project}\n`);

      // The project is deleted (or moved): the next start (of another project) names its data and keeps it.
      rmSync(project, { recursive: true });
      const other = join(secret, "other");
      mkdirSync(other);
      if (ROOT) cleanup.push(keptFor(other), `${keptFor(other)}.project`);
      const next = await startDev(other, ["--port", String(port)]);
      const named = new RegExp(
        "^note: data kept for projects no longer found at their path \\(moved or deleted\\), left as it is: (.*); " +
          "delete a folder once you no longer need it$",
        "m",
      ).exec(next.output());
      expect([named?.[1]?.split(", ").includes(`${project} -> ${kept}`) ?? false, existsSync(kept), existsSync(`${kept}.project`)]).toEqual(
        [ROOT, ROOT, ROOT],
      );
      expect((await next.stop("SIGTERM")).code).toBe(0);
    },
    240_000,
  );

  it("says in one line that the port is taken, before touching anything", async () => {
    const project = mkdtempSync(join(tmpdir(), "sguild-dev-busy-"));
    cleanup.push(project);
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const { port } = blocker.address() as { port: number };
    try {
      const run = spawnSync(process.execPath, [CLI, "dev", "--port", String(port)], { cwd: project, env: bareEnv(), encoding: "utf8" });
      expect([run.status, run.stdout, run.stderr]).toEqual([
        2,
        "",
        `sguild-prisma-fragment: port ${port} on 127.0.0.1 is in use (a dev database already running?): stop it or pass --port <another>\n`,
      ]);
      expect(existsSync(join(project, ".sguild"))).toBe(false);
    } finally {
      blocker.close();
    }
  });
});
