import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDispatcher, type Dispatcher } from "../src/index.js";
import { runOnce } from "../src/testing/index.js";
import { lockedPayload, testDb, type TestDb } from "./helpers.js";

// A consumer back from an outage reads a backlog whose statistics were gathered before the
// sequencer numbered it (every position NULL). The planner then chose, for each batch, a bitmap
// scan of the whole remaining backlog plus a sort, and the sequencer's probe a scan of the whole
// table. These tests read the plans PostgreSQL actually ran (auto_explain, nested statements
// included) in exactly that state.

const BACKLOG = 3000;
let db: TestDb;
let producer: Dispatcher;

beforeAll(async () => {
  db = await testDb();
  producer = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
  for (let i = 0; i < BACKLOG; i += 500) {
    await producer.publishMany(Array.from({ length: 500 }, () => ({ event_type: "credit.locked", payload: lockedPayload() })));
  }
  await db.pool.query("ANALYZE dispatcher_event"); // statistics of an unnumbered backlog
});
afterAll(async () => {
  await producer.close();
  await db.drop();
});

/** Runs `sql` on one connection with every statement's plan (nested ones too) sent back as a notice. */
async function plansOf(sql: string, params: unknown[] = []): Promise<string[]> {
  const client = await db.pool.connect();
  const plans: string[] = [];
  const onNotice = (notice: { message?: string }) => notice.message?.includes("plan:") && plans.push(notice.message);
  client.on("notice", onNotice);
  try {
    await client.query("LOAD 'auto_explain'");
    await client.query(
      "SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; " +
        "SET auto_explain.log_level = notice; SET auto_explain.log_analyze = on",
    );
    await client.query(sql, params);
    return plans;
  } finally {
    client.off("notice", onNotice);
    await client.query("RESET ALL; LOAD 'auto_explain'").catch(() => undefined);
    client.release(true);
  }
}

const nodesOf = (plan: string) =>
  [...plan.matchAll(/(Seq Scan|Bitmap Heap Scan|Index Scan using \w+|Index Only Scan using \w+|Sort)\b/g)].map((m) => m[1]);

describe("reads of a backlog analyzed before it was numbered", () => {
  it("the sequencer's probe and numbering walk the unsequenced index, never the whole table", async () => {
    const plans = await plansOf("SELECT dispatcher_sequence(100000) AS numbered");
    const probe = plans.find((p) => p.includes('"position" IS NULL)') && p.includes("NOT EXISTS"));
    expect(probe, plans.join("\n---\n")).toBeDefined();
    expect(nodesOf(probe!)).toEqual(["Index Only Scan using dispatcher_event_unsequenced"]);
    const numbered = await db.pool.query("SELECT count(*)::int AS n FROM dispatcher_event WHERE position IS NOT NULL");
    expect(numbered.rows[0].n).toBe(BACKLOG);
  });

  it("each batch is an ordered index walk that stops after the batch, from the first position to the last", async () => {
    for (const after of [0, BACKLOG / 2, BACKLOG - 10]) {
      const plans = await plansOf("SELECT position FROM dispatcher_events_after('credit.locked', $1, 50)", [after]);
      const inner = plans.find((p) => p.includes('ORDER BY "position" LIMIT p_limit'));
      expect(inner, plans.join("\n---\n")).toBeDefined();
      expect(nodesOf(inner!)).toEqual(["Index Scan using dispatcher_event_type_position"]);
      expect(inner).toMatch(
        new RegExp(
          `Index Scan using dispatcher_event_type_position on dispatcher_event ` +
            `.*actual time=[\\d.]+ rows=${Math.min(50, BACKLOG - after)}\\.00`,
        ),
      );
    }
  });

  it("a consumer drains the whole backlog in position order, each event once", async () => {
    const consumer = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool: db.pool });
    consumer.subscribe("credit.locked", () => undefined);
    const drained = await runOnce(consumer, { consumer: "backlog_plans" });
    const stored = await db.pool.query("SELECT event_id FROM dispatcher_event ORDER BY position");
    expect(stored.rows).toHaveLength(BACKLOG);
    expect(drained.delivered.map((e) => e.event_id)).toEqual(stored.rows.map((r) => r.event_id));
    expect(drained.skipped).toEqual([]);
    await consumer.close();
  });
});
