import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { FragmentConflictError, mergeFragment } from "../src/index.js";

const NAME = "20261123000000_dispatcher";
const CURSOR_START = "20261127000000_cursor_start";
const INDEX_READS = "20261202000000_index_reads";
const CONSOLE = "20261202000100_console";
const ALL = [NAME, CURSOR_START, INDEX_READS, CONSOLE];
const CLI = resolve("bin/sguild-prisma-fragment.mjs");
const PRISMA = resolve("node_modules/.bin/prisma");

function sampleDomain(): { dir: string; schemaFile: string; migrationsDir: string } {
  const dir = mkdtempSync(join(tmpdir(), "domain-"));
  mkdirSync(join(dir, "prisma/migrations"), { recursive: true });
  cpSync("test/fixtures/domain-schema.prisma", join(dir, "prisma/schema.prisma"));
  return { dir, schemaFile: join(dir, "prisma/schema.prisma"), migrationsDir: join(dir, "prisma/migrations") };
}

// A placeholder engine of this run's own (a fixed name in a shared /tmp may belong to another user).
const engine = join(mkdtempSync(join(tmpdir(), "no-schema-engine-")), "engine");
writeFileSync(engine, "");

function prismaValidate(schemaFile: string): string {
  return execFileSync(PRISMA, ["validate", "--schema", schemaFile], {
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: engine },
    encoding: "utf8",
  });
}

describe("mergeFragment", () => {
  it("merges cleanly into a domain schema, which Prisma then validates", () => {
    const domain = sampleDomain();
    const result = mergeFragment(domain);
    expect(result).toEqual({
      addedModels: ["DispatcherEvent", "DispatcherCursor", "DispatcherDedup", "DispatcherDeadLetter", "DispatcherConsumerInstance"],
      upgradedModels: [],
      addedMigrations: ALL,
      notes: [],
    });
    const merged = readFileSync(domain.schemaFile, "utf8");
    expect(merged).toContain("model CreditAccount {");
    expect(merged).toContain("// >>> @sguild/prisma-fragment");
    expect(readFileSync(join(domain.migrationsDir, NAME, "migration.sql"), "utf8")).toBe(
      readFileSync(`migrations/${NAME}/migration.sql`, "utf8"),
    );
    expect(prismaValidate(domain.schemaFile)).toContain("is valid");
  });

  it("changes nothing on a second run", () => {
    const domain = sampleDomain();
    mergeFragment(domain);
    const before = readFileSync(domain.schemaFile, "utf8");
    expect(mergeFragment(domain)).toEqual({ addedModels: [], upgradedModels: [], addedMigrations: [], notes: [] });
    expect(readFileSync(domain.schemaFile, "utf8")).toBe(before);
  });

  it("upgrades a schema merged from the first fragment: the cursor model gains its fields in place, the new migration is added", () => {
    const domain = sampleDomain();
    mergeFragment(domain);
    const current = readFileSync(domain.schemaFile, "utf8");
    const firstFragment = current
      .replace(/\n  startFrom +String\? +@map\("start_from"\)\n  startPosition +BigInt\? +@map\("start_position"\)/, "")
      .replace(/\n  pausedAt +DateTime\? +@map\("paused_at"\) @db.Timestamptz\(3\)\n  pausedBy +String\? +@map\("paused_by"\)/, "")
      .replace(/\nmodel DispatcherConsumerInstance \{[^}]*\}\n/, "\n");
    expect(firstFragment).not.toContain("startFrom");
    expect(firstFragment).not.toContain("pausedAt");
    expect(firstFragment).not.toContain("DispatcherConsumerInstance");
    writeFileSync(domain.schemaFile, firstFragment);
    for (const later of [CURSOR_START, INDEX_READS, CONSOLE]) rmSync(join(domain.migrationsDir, later), { recursive: true });
    expect(mergeFragment(domain)).toEqual({
      addedModels: ["DispatcherConsumerInstance"],
      upgradedModels: ["DispatcherCursor"],
      addedMigrations: [CURSOR_START, INDEX_READS, CONSOLE],
      notes: [],
    });
    expect(readFileSync(domain.schemaFile, "utf8")).toBe(current);
    expect(prismaValidate(domain.schemaFile)).toContain("is valid");
    expect(mergeFragment(domain)).toEqual({ addedModels: [], upgradedModels: [], addedMigrations: [], notes: [] });
  });

  it("refuses a model of the same name with another shape, writing nothing", () => {
    const domain = sampleDomain();
    const original = readFileSync(domain.schemaFile, "utf8") + "\nmodel DispatcherEvent {\n  id Int @id\n}\n";
    writeFileSync(domain.schemaFile, original);
    expect(() => mergeFragment(domain)).toThrow(FragmentConflictError);
    expect(() => mergeFragment(domain)).toThrow(
      expect.objectContaining({ code: "FRAGMENT_CONFLICT", conflicts: ["model DispatcherEvent exists with another shape"] }),
    );
    expect(readFileSync(domain.schemaFile, "utf8")).toBe(original);
    expect(existsSync(join(domain.migrationsDir, NAME))).toBe(false);
  });

  it("refuses another model mapped to a dispatcher table, and a migration that already creates one", () => {
    const domain = sampleDomain();
    writeFileSync(
      domain.schemaFile,
      readFileSync(domain.schemaFile, "utf8") + '\nmodel Outbox {\n  id Int @id\n  @@map("dispatcher_dedup")\n}\n',
    );
    mkdirSync(join(domain.migrationsDir, "20250101000000_init"));
    writeFileSync(join(domain.migrationsDir, "20250101000000_init/migration.sql"), 'CREATE TABLE "public"."dispatcher_event" (id int);');
    const error = (() => {
      try {
        mergeFragment(domain);
      } catch (e) {
        return e as FragmentConflictError;
      }
    })();
    expect(error?.code).toBe("FRAGMENT_CONFLICT");
    expect(error?.conflicts).toEqual([
      'model Outbox already maps to table "dispatcher_dedup"',
      "migration 20250101000000_init already creates table dispatcher_event",
    ]);
  });

  it("adds @@schema and says how to enable multiSchema for a non-public schema", () => {
    const domain = sampleDomain();
    const result = mergeFragment({ ...domain, schema: "dispatcher" });
    expect(result.notes).toEqual(['the models carry @@schema("dispatcher"): list "dispatcher" in your datasource\'s schemas = [...]']);
    expect(readFileSync(domain.schemaFile, "utf8").match(/@@schema\("dispatcher"\)/g)).toHaveLength(5);
    expect(readFileSync(join(domain.migrationsDir, NAME, "migration.sql"), "utf8")).toContain(
      'CREATE TABLE "dispatcher"."dispatcher_event"',
    );
  });
});

describe("the sguild-prisma-fragment CLI", () => {
  it("merges, then reports nothing to change, then refuses a conflict with exit code 2", () => {
    const domain = sampleDomain();
    const run = () => spawnSync("node", [CLI, "merge"], { cwd: domain.dir, encoding: "utf8" });
    const first = run();
    expect([first.status, first.stdout]).toEqual([
      0,
      `added models: DispatcherEvent, DispatcherCursor, DispatcherDedup, DispatcherDeadLetter, DispatcherConsumerInstance\n` +
        `added migrations: ${ALL.join(", ")}\n`,
    ]);
    const second = run();
    expect([second.status, second.stdout]).toEqual([0, "already merged: nothing to change\n"]);
    writeFileSync(domain.schemaFile, readFileSync(domain.schemaFile, "utf8").replace("payload       Json", "payload       String"));
    const third = run();
    expect([third.status, third.stderr]).toEqual([
      2,
      "sguild-prisma-fragment: cannot merge the dispatcher fragment, nothing was written:\n" +
        "- model DispatcherEvent exists with another shape\n",
    ]);
  });
});
