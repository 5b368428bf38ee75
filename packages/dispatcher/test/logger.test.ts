// The default logger: warnings and errors reach the console; a pino-compatible logger or silentLogger replaces it.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import { consoleLogger, createDispatcher, silentLogger, type Logger } from "../src/index.js";
import { injectEvent, runOnce } from "../src/testing/index.js";
import { caught, lockedPayload, testDb, until, type TestDb } from "./helpers.js";

let db: TestDb;
let warn: MockInstance<typeof console.warn>;
const lines = () => warn.mock.calls.map((call) => call[0] as string);
beforeAll(async () => void (db = await testDb()));
afterAll(async () => db.drop());
beforeEach(() => {
  vi.stubEnv("DISPATCHER_LOG_LEVEL", ""); // the suite runs silent (vitest.config.ts); here the default applies
  vi.stubEnv("DATABASE_URL", "");
  warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe("the default logger", () => {
  it("prints warnings to the console: a consumer without a URL for LISTEN says it polls only", async () => {
    const c = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", prismaClient: db.prisma });
    c.subscribe("credit.locked", () => undefined);
    await c.start({ consumer: "coaching-logs" });
    await c.stop();
    expect(lines()).toEqual(["[sguild-dispatcher] WARN no databaseUrl or DATABASE_URL for LISTEN: polling only consumer=coaching-logs"]);
  });

  it("prints a failed handler and a failed replay", async () => {
    const c = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool, databaseUrl: db.url });
    const event = await injectEvent(c, { event_type: "credit.locked", payload: lockedPayload() });
    c.subscribe("credit.locked", () => {
      throw new Error("projection row missing");
    });
    await runOnce(c, { consumer: "coaching-replay", retryDelaysMs: [] });
    expect(lines()).toEqual([
      `[sguild-dispatcher] WARN dispatcher handler failed consumer=coaching-replay event_type=credit.locked event_id=${event.event_id} ` +
        `attempt=1 stage=handler outcome=dead-lettered err="Error: projection row missing"`,
    ]);
    const [letter] = (await db.pool.query("SELECT id FROM dispatcher_dead_letter WHERE event_id = $1", [event.event_id])).rows;
    await c.deadLetters.requestReplay(letter.id, { requestedBy: "ops@sguild" });
    await c.start({ consumer: "coaching-replay", pollIntervalMs: 20 });
    await until(() => lines().length === 2, 10_000, "the failed replay's line");
    await c.stop();
    expect(lines()[1]).toBe(
      `[sguild-dispatcher] WARN dispatcher replay failed: the dead letter stays active consumer=coaching-replay ` +
        `dead_letter_id=${letter.id} event_id=${event.event_id} event_type=credit.locked err="Error: projection row missing"`,
    );
  });

  it("a handler past its timeout prints its failure once, not the connection the dispatcher closed on purpose", async () => {
    const c = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool });
    const event = await injectEvent(c, { event_type: "credit.locked", payload: lockedPayload() });
    c.subscribe("credit.locked", async (_e, ctx) => {
      await ctx.tx.query("SELECT pg_sleep(5)");
    });
    await runOnce(c, { consumer: "coaching-timeout", retryDelaysMs: [], handlerTimeoutMs: 200 });
    await new Promise((r) => setTimeout(r, 200)); // a late socket error would come now
    // (Events of the tests before this one reach this new consumer too: each its own "handler failed" line.)
    expect(lines().filter((line) => line.includes(event.event_id))).toEqual([
      `[sguild-dispatcher] WARN dispatcher handler failed consumer=coaching-timeout event_type=credit.locked event_id=${event.event_id} ` +
        `attempt=1 stage=handler outcome=dead-lettered err="HandlerTimeoutError HANDLER_TIMEOUT: handler for ${event.event_id} did not finish within 200 ms"`,
    ]);
    expect(lines().filter((line) => !line.includes("WARN dispatcher handler failed"))).toEqual([]);
  });

  it("a pino-compatible logger replaces it; silentLogger mutes it", async () => {
    const entries: Array<[string, Record<string, unknown>, string]> = [];
    const mine: Logger = {
      debug: (f, m) => void entries.push(["debug", f, m]),
      info: (f, m) => void entries.push(["info", f, m]),
      warn: (f, m) => void entries.push(["warn", f, m]),
      error: (f, m) => void entries.push(["error", f, m]),
    };
    for (const logger of [mine, silentLogger]) {
      const c = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", prismaClient: db.prisma, logger });
      c.subscribe("credit.locked", () => undefined);
      await c.start({ consumer: "coaching-quiet" });
      await c.stop();
    }
    expect(lines()).toEqual([]);
    expect(entries.filter(([level]) => level === "warn")).toEqual([
      ["warn", { consumer: "coaching-quiet" }, "no databaseUrl or DATABASE_URL for LISTEN: polling only"],
    ]);
  });

  it("DISPATCHER_LOG_LEVEL picks the level; a bad one is CONFIG_INVALID", async () => {
    const info = vi.spyOn(console, "info").mockImplementation(() => undefined);
    consoleLogger("info").info({ consumer: "c", note: "two words" }, "hello");
    consoleLogger("warn").info({}, "not shown");
    expect(info.mock.calls).toEqual([['[sguild-dispatcher] INFO hello consumer=c note="two words"']]);
    vi.stubEnv("DISPATCHER_LOG_LEVEL", "loud");
    const error = await caught(() => createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool }));
    expect([error.code, error.message]).toEqual([
      "CONFIG_INVALID",
      'DISPATCHER_LOG_LEVEL must be one of debug, info, warn, error, silent (got "loud")',
    ]);
  });
});
