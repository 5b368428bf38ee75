import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SguildError } from "@sguild/contracts";
import { dispatcherMigrations, renderFragment } from "../migrate/migrations.js";
import { parseModels } from "./prisma-models.js";

export interface MergeFragmentOptions {
  /** The domain's schema.prisma. */
  schemaFile: string;
  /** The domain's prisma/migrations folder. */
  migrationsDir: string;
  /** Postgres schema for the dispatcher tables. Default `public`. */
  schema?: string;
}

export interface MergeFragmentResult {
  /** Models appended to schema.prisma (empty when all four were already there). */
  addedModels: string[];
  /** Models of an earlier fragment version brought up to this one in place (fields added since). */
  upgradedModels: string[];
  /** Migration folders written (empty on a second run). */
  addedMigrations: string[];
  /** Advice the caller should print (e.g. multiSchema setup). */
  notes: string[];
}

const fragmentConflictErrorBrand = Symbol.for("sguild.error.FragmentConflictError");
export class FragmentConflictError extends SguildError {
  private readonly [fragmentConflictErrorBrand] = true;

  constructor(readonly conflicts: string[]) {
    super("FRAGMENT_CONFLICT", `cannot merge the dispatcher fragment, nothing was written:\n- ${conflicts.join("\n- ")}`, {
      details: { conflicts },
    });
  }

  static override isInstance(value: unknown): value is FragmentConflictError {
    return SguildError.hasMarker(value, fragmentConflictErrorBrand);
  }
}

const FRAGMENT_END = "// <<< @sguild/prisma-fragment";

/** Fields each model gained since the first fragment, newest last: a model without them is upgraded in place. */
const FIELDS_ADDED: Record<string, string[][]> = {
  DispatcherCursor: [
    ["startFrom", "startPosition"],
    ["pausedAt", "pausedBy"],
  ],
};

/** The shapes a model had in earlier fragment versions (each step drops the fields added after it). */
function earlierShapes(model: { name: string; shape: string }): string[] {
  const steps = FIELDS_ADDED[model.name] ?? [];
  const shapes: string[] = [];
  let lines = model.shape.split("\n");
  for (const fields of [...steps].reverse()) {
    lines = lines.filter((line) => !fields.some((field) => line.startsWith(`${field} `)));
    shapes.push(lines.join("\n"));
  }
  return shapes;
}

const CREATES_TABLE =
  /CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:"?\w+"?\.)?"?(dispatcher_(?:event|cursor|dedup|dead_letter|consumer_instance))"?\s*\(/gi;

/**
 * Merges the dispatcher models into a domain's schema.prisma and copies the migration
 * into its migrations folder. Idempotent; refuses (writing nothing) when a model, table or
 * migration of the same name exists with another shape.
 */
export function mergeFragment(options: MergeFragmentOptions): MergeFragmentResult {
  const schema = options.schema ?? "public";
  const fragment = renderFragment(schema);
  const wanted = parseModels(fragment);
  const source = readFileSync(options.schemaFile, "utf8");
  const existing = parseModels(source);
  const conflicts: string[] = [];
  const upgrades: { from: string; to: string; name: string }[] = [];
  const missing = wanted.filter((model) => {
    const byName = existing.find((m) => m.name === model.name);
    const byTable = existing.find((m) => m.table === model.table && m.name !== model.name);
    if (byTable) conflicts.push(`model ${byTable.name} already maps to table "${model.table}"`);
    if (byName && byName.shape !== model.shape) {
      if (earlierShapes(model).includes(byName.shape)) upgrades.push({ from: byName.text, to: model.text, name: model.name });
      else conflicts.push(`model ${model.name} exists with another shape`);
    }
    return !byName && !byTable;
  });

  const migrations = dispatcherMigrations(schema);
  const toWrite = migrations.filter((migration) => {
    const file = join(options.migrationsDir, migration.name, "migration.sql");
    if (!existsSync(file)) return true;
    if (readFileSync(file, "utf8") !== migration.sql) conflicts.push(`${file} exists with other content`);
    return false;
  });
  if (toWrite.length > 0 && existsSync(options.migrationsDir)) {
    for (const folder of readdirSync(options.migrationsDir)) {
      const file = join(options.migrationsDir, folder, "migration.sql");
      if (migrations.some((m) => m.name === folder) || !existsSync(file)) continue;
      for (const match of readFileSync(file, "utf8").matchAll(CREATES_TABLE)) {
        conflicts.push(`migration ${folder} already creates table ${match[1]}`);
      }
    }
  }
  if (conflicts.length > 0) throw new FragmentConflictError(conflicts);

  let merged = source;
  for (const upgrade of upgrades) merged = merged.replace(upgrade.from, upgrade.to);
  if (missing.length === wanted.length) merged = `${merged.replace(/\s*$/, "")}\n\n${fragment}`;
  else if (missing.length > 0) {
    // A model added by a later fragment goes inside the block merged earlier, before its end marker.
    const models = missing.map((m) => m.text).join("\n\n");
    const end = merged.lastIndexOf(FRAGMENT_END);
    merged =
      end >= 0
        ? `${merged.slice(0, end).replace(/\s*$/, "")}\n\n${models}\n${merged.slice(end)}`
        : `${merged.replace(/\s*$/, "")}\n\n${models}\n`;
  }
  if (merged !== source) writeFileSync(options.schemaFile, merged);
  for (const migration of toWrite) {
    mkdirSync(join(options.migrationsDir, migration.name), { recursive: true });
    writeFileSync(join(options.migrationsDir, migration.name, "migration.sql"), migration.sql);
  }
  const notes =
    schema !== "public" && !new RegExp(`schemas\\s*=\\s*\\[[^\\]]*"${schema}"`).test(source)
      ? [`the models carry @@schema("${schema}"): list "${schema}" in your datasource's schemas = [...]`]
      : [];
  return {
    addedModels: missing.map((m) => m.name),
    upgradedModels: upgrades.map((u) => u.name),
    addedMigrations: toWrite.map((m) => m.name),
    notes,
  };
}
