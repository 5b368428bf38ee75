// sguild-dispatcher init, run as a child process in scratch projects (the compiled samples are checked in tests/pack-install).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const CLI = new URL("../bin/sguild-dispatcher.mjs", import.meta.url).pathname;
const PRISMA_SCHEMA = `generator client {
  provider = "prisma-client"
  output   = "../generated/prisma"
}

datasource db {
  provider = "postgresql"
}
`;

function project(withPrisma: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), "sguild-init-"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "scratch", type: "module" }));
  if (withPrisma) {
    mkdirSync(join(dir, "prisma"));
    writeFileSync(join(dir, "prisma/schema.prisma"), PRISMA_SCHEMA);
  }
  return dir;
}
const init = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [CLI, "init", ...args], { cwd, encoding: "utf8" });

describe("sguild-dispatcher init", () => {
  it("in a Prisma project: merges the fragment, writes the dispatcher and samples; a second run changes nothing", () => {
    const dir = project(true);
    const first = init(dir, "--domain", "coaching");
    expect([first.status, first.stderr]).toEqual([0, ""]);
    expect(first.stdout).toBe(
      [
        "added models: DispatcherEvent, DispatcherCursor, DispatcherDedup, DispatcherDeadLetter, DispatcherConsumerInstance",
        "added migrations: 20261123000000_dispatcher, 20261127000000_cursor_start, 20261202000000_index_reads, 20261202000100_console",
        "wrote src/events/dispatcher.ts",
        "wrote src/events/producer.ts",
        "wrote src/events/consumer.ts",
        "wrote src/events/simulate-incoming.ts",
        "next:",
        "  npx sguild-prisma-fragment dev --write-env   # a local PostgreSQL with the migrations applied; DATABASE_URL into .env",
        "  npx prisma generate",
        "  npx tsx --env-file=.env src/events/consumer.ts   # then, in another terminal: " +
          "npx tsx --env-file=.env src/events/simulate-incoming.ts",
        "  npx tsx --env-file=.env src/events/producer.ts",
        "",
      ].join("\n"),
    );
    const dispatcherTs = readFileSync(join(dir, "src/events/dispatcher.ts"), "utf8");
    expect(dispatcherTs).toContain('import { PrismaClient } from "../../generated/prisma/client.js";');
    expect(dispatcherTs).toContain('producer: "coaching",');
    expect(readFileSync(join(dir, "src/events/consumer.ts"), "utf8")).toContain(
      'dispatcher.subscribe("credit.reserved", async (event, ctx) => {',
    );
    expect(readFileSync(join(dir, "src/events/simulate-incoming.ts"), "utf8")).toMatch(/credit_reservation_id: newId\("crr"\),/);
    const schema = readFileSync(join(dir, "prisma/schema.prisma"), "utf8");
    const migrations = readdirSync(join(dir, "prisma/migrations")).sort();

    const second = init(dir, "--domain", "coaching");
    expect([second.status, second.stdout.split("\n").slice(0, 5)]).toEqual([
      0,
      [
        "kept src/events/dispatcher.ts (already there)",
        "kept src/events/producer.ts (already there)",
        "kept src/events/consumer.ts (already there)",
        "kept src/events/simulate-incoming.ts (already there)",
        "already set up: nothing to change",
      ],
    ]);
    expect(readFileSync(join(dir, "prisma/schema.prisma"), "utf8")).toBe(schema);
    expect(readdirSync(join(dir, "prisma/migrations")).sort()).toEqual(migrations);
  });

  it("a producing domain gets a producer sample with the payload of its first event type", () => {
    const dir = project(true);
    expect(init(dir, "--domain", "revenue").status).toBe(0);
    const producer = readFileSync(join(dir, "src/events/producer.ts"), "utf8");
    expect(producer).toContain('event_type: "customer.handoff",');
    expect(producer).toContain("}, { tx });");
  });

  it("without Prisma: pg samples, no merge", () => {
    const dir = project(false);
    const result = init(dir, "--domain", "sales");
    expect(result.status).toBe(0);
    expect(result.stdout.split("\n").slice(0, 3)).toEqual([
      "wrote src/events/dispatcher.ts",
      "wrote src/events/producer.ts",
      "wrote src/events/consumer.ts",
    ]);
    expect(readFileSync(join(dir, "src/events/dispatcher.ts"), "utf8")).toContain(
      "export const pool = new pg.Pool({ connectionString: databaseUrl });",
    );
    expect(existsSync(join(dir, "prisma"))).toBe(false);
  });

  it("refuses a bad domain, a missing package.json and a missing schema, writing nothing", () => {
    const dir = project(true);
    const bad = init(dir, "--domain", "Sales");
    expect([bad.status, bad.stderr]).toEqual([
      2,
      "sguild-dispatcher: option '--domain <domain>' argument 'Sales' is invalid. " +
        "Allowed choices are platform, growth, sales, delivery, revenue, coaching.\n",
    ]);
    const empty = mkdtempSync(join(tmpdir(), "sguild-init-"));
    const noPackage = init(empty, "--domain", "sales");
    expect([noPackage.status, noPackage.stderr]).toEqual([
      2,
      `sguild-dispatcher: no package.json in ${empty}: run init in your project's folder (npm init -y first)\n`,
    ]);
    const noSchema = init(project(false), "--domain", "sales", "--client", "prisma");
    expect([noSchema.status, noSchema.stderr]).toEqual([
      2,
      "sguild-dispatcher: no Prisma schema at prisma/schema.prisma: run npx prisma init, or pass --client pg\n",
    ]);
    expect(readdirSync(empty)).toEqual([]);
    expect(existsSync(join(dir, "src"))).toBe(false);
  });

  it(
    "never falls back to pg for a Prisma project it cannot read: " +
      "a misspelled schema, a folder, a prisma.config.ts without prisma/schema.prisma",
    () => {
      const typo = init(project(true), "--domain", "sales", "--schema-file", "prisma/shema.prisma");
      expect([typo.status, typo.stderr]).toEqual([2, "sguild-dispatcher: no Prisma schema at prisma/shema.prisma\n"]);
      const folder = init(project(true), "--domain", "sales", "--schema-file", "prisma");
      expect([folder.status, folder.stderr]).toEqual([
        2,
        "sguild-dispatcher: prisma is a folder: " +
          "pass the .prisma file that holds the generator block (of a multi-file schema, its main file)\n",
      ]);
      const configured = project(false);
      writeFileSync(join(configured, "prisma.config.ts"), "export default {};\n");
      const hint = init(configured, "--domain", "sales");
      expect([hint.status, hint.stderr]).toEqual([
        2,
        "sguild-dispatcher: found prisma.config.ts but no prisma/schema.prisma: " +
          "pass --schema-file <the .prisma file with the generator block>, or --client pg\n",
      ]);
      expect(existsSync(join(configured, "src"))).toBe(false);
    },
  );

  it("an absolute --dir is taken as it is", () => {
    const dir = project(false);
    const out = mkdtempSync(join(tmpdir(), "sguild-init-out-"));
    expect(init(dir, "--domain", "sales", "--dir", out).status).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["consumer.ts", "dispatcher.ts", "producer.ts", "simulate-incoming.ts"]);
  });
});
