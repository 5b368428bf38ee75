import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { quoteSchema } from "../schema/identifier.js";

export interface DispatcherMigration {
  /** Folder name in Prisma's layout, e.g. `20261123000000_dispatcher`. */
  name: string;
  /** The migration.sql text for the chosen schema. */
  sql: string;
  /** sha256 of `sql`, as Prisma stores it in `_prisma_migrations.checksum`. */
  checksum: string;
}

/** This package's root (holds `templates/`), found from the module location, never the cwd. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "templates", "fragment.prisma"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("@sguild/prisma-fragment: templates folder not found");
    dir = parent;
  }
  return dir;
}

export function checksumOf(sql: string): string {
  return createHash("sha256").update(sql).digest("hex");
}

/** Every dispatcher migration, oldest first, rendered for `schema` (default `public`). */
export function dispatcherMigrations(schema = "public"): DispatcherMigration[] {
  const quoted = quoteSchema(schema);
  const dir = join(packageRoot(), "templates");
  return readdirSync(dir)
    .filter((file) => /^\d{14}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(join(dir, file), "utf8").replaceAll("__SCHEMA_NAME__", schema).replaceAll("__SCHEMA__", quoted);
      return { name: file.replace(/\.sql$/, ""), sql, checksum: checksumOf(sql) };
    });
}

/** The four Prisma models, with `@@schema("<schema>")` when the tables live outside `public`. */
export function renderFragment(schema = "public"): string {
  quoteSchema(schema);
  const text = readFileSync(join(packageRoot(), "templates", "fragment.prisma"), "utf8");
  return text.replaceAll("__SCHEMA_ATTRIBUTE__", schema === "public" ? "" : `\n  @@schema("${schema}")`);
}
