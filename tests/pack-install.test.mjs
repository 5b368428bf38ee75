// Installs the packages the way a domain team does: `pnpm pack` each, `npm install` the tarballs
// into a scratch project outside the workspace, then run the seed README's Usage there against a
// real PostgreSQL (Prisma 7 transaction, subscribe, start, receive, stop), plus require() from CommonJS.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, startTestPostgres } from "@sguild/prisma-fragment/testing";

const root = fileURLToPath(new URL("..", import.meta.url));
const fixtures = join(root, "tests/pack-install");
const scratch = mkdtempSync(join(tmpdir(), "sguild-adopter-"));
// The pnpm running this test (root `pnpm test` sets npm_execpath), else the pinned one through npx.
const pnpm = process.env.npm_execpath?.includes("pnpm") ? [process.execPath, process.env.npm_execpath] : ["npx", "-y", "pnpm@10.34.9"];
let server;
let db;

const run = (cmd, args, opts = {}) =>
  execFileSync(cmd, args, { cwd: scratch, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } });

beforeAll(async () => {
  server = await startTestPostgres();
  db = await createTestDatabase({ adminUrl: server.adminUrl, migrate: false });
  const packs = join(scratch, "packs");
  for (const pkg of ["contracts", "prisma-fragment", "dispatcher"]) {
    execFileSync(pnpm[0], [...pnpm.slice(1), "pack", "--pack-destination", packs], { cwd: join(root, "packages", pkg), stdio: "ignore" });
  }
  writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "adopter", private: true, type: "module" }));
  const tarballs = readdirSync(packs).map((f) => join(packs, f));
  run("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    ...tarballs,
    "@prisma/client@7",
    "@prisma/adapter-pg@7",
    "prisma@7",
    "pg",
    "uuid",
    "tsx",
    "typescript",
    "@types/node@20",
    "@types/pg",
  ]);
  mkdirSync(join(scratch, "prisma/migrations/20250101000000_domain"), { recursive: true });
  copyFileSync(join(fixtures, "schema.prisma"), join(scratch, "prisma/schema.prisma"));
  copyFileSync(join(fixtures, "001_domain.sql"), join(scratch, "prisma/migrations/20250101000000_domain/migration.sql"));
  for (const f of ["usage.mts", "require.cjs", "types-check.mts", "tsconfig.json"]) copyFileSync(join(fixtures, f), join(scratch, f));
}, 600_000);

afterAll(async () => {
  await db?.drop();
  await server?.stop();
});

it("merges the fragment, applies migrations, generates the client, and runs the seed Usage from the tarballs", () => {
  expect(run("npx", ["sguild-prisma-fragment", "merge"])).toContain(
    "added migrations: 20261123000000_dispatcher, 20261127000000_cursor_start, 20261202000000_index_reads, 20261202000100_console",
  );
  expect(run("npx", ["sguild-prisma-fragment", "merge"])).toBe("already merged: nothing to change\n");
  const engine = join(scratch, "no-engine");
  writeFileSync(engine, "");
  run("npx", ["prisma", "generate"], { env: { PRISMA_SCHEMA_ENGINE_BINARY: engine } });
  expect(run("npx", ["sguild-prisma-fragment", "apply", "--migrations-dir", "prisma/migrations", "--database-url", db.url])).toBe(
    "applied: 20250101000000_domain, 20261123000000_dispatcher, 20261127000000_cursor_start, 20261202000000_index_reads, " +
      "20261202000100_console; already applied: none\n",
  );
  const usage = JSON.parse(
    run("npx", ["tsx", "usage.mts"], { env: { DATABASE_URL: db.url } })
      .trim()
      .split("\n")
      .pop(),
  );
  expect(usage.received).toEqual([["credit.locked", true, 6]]);
  expect(usage.refused).toBe("PAYLOAD_INVALID");
  expect(usage.resolved.startsWith(`file://${scratch}/node_modules/@sguild/dispatcher/`)).toBe(true);
  const cjs = JSON.parse(run("node", ["require.cjs"]));
  expect(cjs).toMatchObject({
    configureDispatcher: "function",
    publish: "function",
    creditReleased: 2,
    migrations: ["20261123000000_dispatcher", "20261127000000_cursor_start", "20261202000000_index_reads", "20261202000100_console"],
    createTestDatabase: "function",
  });
  for (const path of cjs.resolved) expect(path.startsWith(join(scratch, "node_modules/@sguild/"))).toBe(true);
  expect(run("npx", ["sguild-contracts-lint"])).toBe("contracts: no problems\n");
  expect(JSON.parse(run("npx", ["sguild-dispatcher", "--json", "status"], { env: { DATABASE_URL: db.url } }))).toMatchObject([
    { consumer: "coaching", eventType: "credit.locked", lagEvents: 0 },
  ]);
}, 300_000);

// A tsconfig.json of the scratch project's settings for one file (tsc 7 refuses files on the command line beside a tsconfig).
function project(file) {
  const name = `tsconfig.${file}.json`;
  writeFileSync(join(scratch, name), JSON.stringify({ extends: "./tsconfig.json", include: [file] }));
  return name;
}

it("type tests pass from the tarballs, and init's samples compile", () => {
  const init = run("npx", ["sguild-dispatcher", "init", "--domain", "coaching"]);
  expect(init.split("\n").slice(0, 4)).toEqual([
    "wrote src/events/dispatcher.ts",
    "wrote src/events/producer.ts",
    "wrote src/events/consumer.ts",
    "wrote src/events/simulate-incoming.ts",
  ]);
  // tsc exits non-zero on any error, including an @ts-expect-error that meets none.
  expect(run("npx", ["tsc", "-p", "tsconfig.json"])).toBe("");
  // The same check fails when a mistake slips through: drop one @ts-expect-error's mistake.
  writeFileSync(
    join(scratch, "broken.mts"),
    "// @ts-expect-error a misspelled event type\n" +
      'import { dispatcher } from "@sguild/dispatcher";\n' +
      'dispatcher.subscribe("credit.locked", () => undefined);\n',
  );
  const broken = (() => {
    try {
      return run("npx", ["tsc", "-p", project("broken.mts")]);
    } catch (error) {
      return error.stdout;
    }
  })();
  expect(broken).toContain("broken.mts(1,1): error TS2578: Unused '@ts-expect-error' directive.");
  // A misspelled payload field is reported against the event type's own payload type, also by a
  // compiler that shows only the last overload's error (TypeScript 7, what npm installs today).
  writeFileSync(
    join(scratch, "misspelled.mts"),
    'import { dispatcher } from "@sguild/dispatcher";\n' +
      'await dispatcher.publish({ event_type: "credit.locked", payload: ' +
      '{ credit_reservation_idd: "crr_x", lesson_id: "les_x", person_id: "per_x", locked_credits: 1, locked_at: "x" } });\n',
  );
  const misspelled = (() => {
    try {
      return run("npx", ["tsc", "-p", project("misspelled.mts")]);
    } catch (error) {
      return error.stdout;
    }
  })();
  expect(misspelled).toMatch(/'credit_reservation_idd' does not exist in type 'CreditLockedPayloadV1'/);
}, 300_000);
