import { spawn } from "node:child_process";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { createTestDatabase } from "@sguild/prisma-fragment/testing";
import { PrismaClient } from "./generated/prisma/client.js";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { createDispatcher, type Dispatcher } from "../src/index.js";

export const DOMAIN_TABLES_SQL = `
  CREATE TABLE credit_reservation (id text PRIMARY KEY, state text NOT NULL);
  CREATE TABLE applied (consumer text NOT NULL, event_id text NOT NULL, value int NOT NULL DEFAULT 0, PRIMARY KEY (consumer, event_id));`;

export interface TestDb {
  url: string;
  pool: pg.Pool;
  prisma: PrismaClient;
  count(sql: string, values?: unknown[]): Promise<number>;
  drop(): Promise<void>;
}

/** A fresh database with the dispatcher tables and the tests' two domain tables. */
export async function testDb(schema = "public"): Promise<TestDb> {
  const db = await createTestDatabase({ schema });
  const pool = new pg.Pool({ connectionString: db.url, max: 30 });
  await pool.query(DOMAIN_TABLES_SQL);
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url }) });
  return {
    url: db.url,
    pool,
    prisma,
    count: async (sql, values = []) => Number((await pool.query(sql, values)).rows[0].n),
    drop: async () => {
      await prisma.$disconnect();
      await pool.end();
      await db.drop();
    },
  };
}

export const id = (prefix: string) => `${prefix}_${uuidv7()}`;

export function lockedPayload(overrides: Record<string, unknown> = {}) {
  return {
    credit_reservation_id: id("crr"),
    lesson_id: id("les"),
    person_id: id("per"),
    locked_credits: 6,
    locked_at: new Date().toISOString(),
    ...overrides,
  };
}

/** A valid credit.reserved payload with fresh ids. */
export function reservedPayload(overrides: Record<string, unknown> = {}) {
  return {
    credit_reservation_id: id("crr"),
    credit_account_id: id("crd_acct"),
    person_id: id("per"),
    lesson_id: id("les"),
    organization_id: "org_1",
    reserved_credits: 1,
    reserved_at: new Date().toISOString(),
    lesson_starts_at: new Date().toISOString(),
    ...overrides,
  };
}

export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 20_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function caught(fn: () => Promise<unknown> | unknown): Promise<any> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error, none was thrown");
}

const CLI = new URL("../bin/sguild-dispatcher.mjs", import.meta.url).pathname;

/** Runs the sguild-dispatcher CLI as a child process without blocking this one (a consumer here may be what it waits for). */
export function runCli(databaseUrl: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, DATABASE_URL: databaseUrl } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * A backlog of `n` unnumbered events of one type: one published with the dispatcher (validated),
 * then copied n - 1 times by SQL, which is far faster than publishing each.
 */
export async function publishBacklog(
  db: TestDb,
  producer: { publish: (emit: { event_type: "credit.locked"; payload: unknown }) => Promise<unknown> },
  n: number,
): Promise<void> {
  await producer.publish({ event_type: "credit.locked", payload: lockedPayload() });
  await db.pool.query(
    `INSERT INTO dispatcher_event (event_id, event_type, schema_version, tenant_id, producer, occurred_at, payload)
     SELECT 'evt_' || gen_random_uuid(), event_type, schema_version, tenant_id, producer, occurred_at, payload
     FROM dispatcher_event, generate_series(2, $1)`,
    [n],
  );
}

/**
 * A pg pool whose clients run `hook` once, just before the first statement whose text matches
 * `match`: another actor's move (a rewind, a replica, a replay) at an exact point of a transaction.
 */
export function racedPool(url: string): { pool: pg.Pool; before(match: RegExp, hook: () => Promise<unknown>): void; armed(): boolean } {
  let pending: { match: RegExp; hook: () => Promise<unknown> } | undefined;
  class RacedClient extends pg.Client {
    override query(...args: any[]): any {
      const armed = pending;
      const text: unknown = typeof args[0] === "string" ? args[0] : args[0]?.text;
      const run = () => (super.query as (...a: any[]) => any)(...args);
      if (!armed || typeof text !== "string" || !armed.match.test(text) || typeof args.at(-1) === "function") return run();
      pending = undefined;
      return armed.hook().then(run);
    }
  }
  return {
    pool: new pg.Pool({ connectionString: url, max: 4, Client: RacedClient }),
    before: (match, hook) => (pending = { match, hook }),
    armed: () => pending !== undefined,
  };
}

/**
 * For a test file: a fresh database (`db`) and a revenue producer on it (`producer`), with the
 * dispatcher tables and `applied` emptied before each test. Read both inside tests and hooks.
 */
export function useDispatcherDb(): { readonly db: TestDb; readonly producer: Dispatcher } {
  const state = {} as { db: TestDb; producer: Dispatcher };
  beforeAll(async () => {
    state.db = await testDb();
    state.producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: state.db.pool });
  });
  beforeEach(async () => {
    await state.db.pool.query("TRUNCATE dispatcher_event, dispatcher_cursor, dispatcher_dedup, dispatcher_dead_letter, applied");
  });
  afterAll(async () => {
    await state.producer?.close();
    await state.db?.drop();
  });
  return state;
}
