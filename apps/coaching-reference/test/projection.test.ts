import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDispatcher, type Dispatcher } from "@sguild/dispatcher";
import { createTestDatabase, type TestDatabase } from "@sguild/prisma-fragment/testing";
import { backfill, cutOver, rebuild, shadowCompare } from "../src/cutover/cutover.js";
import { createPrisma } from "../src/db.js";
import { coachingDispatcher, startCoaching } from "../src/main.js";
import { CONSUMER } from "../src/projection/subscribe.js";

let db: TestDatabase;
let pool: pg.Pool;
let coaching: { url: string; stop(): Promise<void> };
// Stands in for the fanout relay: writes Revenue's events into Coaching's database.
let revenue: Dispatcher;
let revenueApi: Server;
let revenueApiUrl: string;
let truth: Array<{ id: string; lesson_id: string; organization_id: string; state: string }> = [];
const id = (p: string) => `${p}_${uuidv7()}`;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
  coaching = await startCoaching({ databaseUrl: db.url, pollIntervalMs: 50 });
  pool = new pg.Pool({ connectionString: db.url });
  revenue = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool });
  revenueApi = createServer((_req, res) => res.end(JSON.stringify({ reservations: truth })));
  await new Promise<void>((r) => revenueApi.listen(0, "127.0.0.1", r));
  revenueApiUrl = `http://127.0.0.1:${(revenueApi.address() as AddressInfo).port}`;
});
beforeEach(async () => {
  truth = [];
});
afterAll(async () => {
  await new Promise((r) => revenueApi.close(r));
  await coaching.stop();
  await revenue.close();
  await pool.end();
  await db.drop();
});

const availability = async () =>
  ((await (await fetch(`${coaching.url}/availability`)).json()) as { lessons: Array<{ lesson_id: string; held_slots: number }> }).lessons;
const heldFor = async (lesson: string) =>
  ((await (await fetch(`${coaching.url}/availability/${lesson}`)).json()) as { held_slots: number }).held_slots;
const caughtUp = async () => {
  for (let i = 0; i < 400; i += 1) {
    const status = (await (await fetch(`${coaching.url}/status`)).json()) as { lag_events: number };
    if (status.lag_events === 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("the projection did not catch up");
};

function reservation(lesson: string) {
  const r = { id: id("crr"), account: id("crd_acct"), person: id("per"), lesson };
  const at = new Date().toISOString();
  return {
    ...r,
    reserved: {
      event_type: "credit.reserved" as const,
      payload: {
        credit_reservation_id: r.id,
        credit_account_id: r.account,
        person_id: r.person,
        lesson_id: lesson,
        organization_id: "org_1",
        reserved_credits: 1,
        reserved_at: at,
        lesson_starts_at: at,
      },
    },
    locked: {
      event_type: "credit.locked" as const,
      payload: { credit_reservation_id: r.id, lesson_id: lesson, person_id: r.person, locked_credits: 1, locked_at: at },
    },
    consumed: {
      event_type: "credit.consumed" as const,
      payload: { credit_reservation_id: r.id, lesson_id: lesson, consumed_credits: 1, consumed_at: at },
    },
    released: {
      event_type: "credit.released" as const,
      payload: {
        credit_reservation_id: r.id,
        credit_account_id: r.account,
        released_credits: 1,
        initiator: "system_weather" as const,
        reason_code: "weather" as const,
        reversal_reason: "Credits Released" as const,
        cancelled_at: at,
      },
    },
    forfeited: {
      event_type: "credit.forfeited" as const,
      payload: {
        credit_reservation_id: r.id,
        lesson_id: lesson,
        forfeited_credits: 1,
        forfeiture_reason: "no_show" as const,
        forfeited_at: at,
      },
    },
  };
}

describe("the availability projection", () => {
  it("subtracts on reserved, keeps on locked, gives back on released and forfeited, ignores consumed", async () => {
    const lesson = id("les");
    const [a, b, c, d] = [reservation(lesson), reservation(lesson), reservation(lesson), reservation(lesson)];
    await revenue.publishMany([a.reserved, b.reserved, c.reserved, d.reserved]);
    await caughtUp();
    expect(await heldFor(lesson)).toBe(4);
    await revenue.publishMany([a.locked, b.locked, c.locked]);
    await caughtUp();
    expect(await heldFor(lesson)).toBe(4);
    await revenue.publishMany([a.consumed, b.forfeited, d.released]);
    await caughtUp();
    expect(await heldFor(lesson)).toBe(2);
  });

  it("tolerates arrival out of order across event types (a release seen before its reservation)", async () => {
    const lesson = id("les");
    const r = reservation(lesson);
    await revenue.publish(r.released);
    await caughtUp();
    await revenue.publish(r.reserved);
    await caughtUp();
    expect(await heldFor(lesson)).toBe(0);
  });

  it("redelivery and replay do not change the projection", async () => {
    const lesson = id("les");
    const [a, b] = [reservation(lesson), reservation(lesson)];
    const [ra] = await revenue.publishMany([a.reserved, b.reserved, b.released]);
    await caughtUp();
    const before = await availability();
    expect(await heldFor(lesson)).toBe(1);
    // redelivery: rewind the consumer over everything with reprocess; every handler runs again
    const admin = coachingDispatcher(createPrisma(db.url), db.url);
    // Exactly what the consumer applied: every stored event of its four types, each once, this test's three among them.
    const types = ["credit.reserved", "credit.locked", "credit.released", "credit.forfeited"];
    const storedOfItsTypes = Number(
      (await pool.query("SELECT count(*) AS n FROM dispatcher_event WHERE event_type = ANY($1)", [types])).rows[0].n,
    );
    const dedup = async () =>
      (await pool.query("SELECT event_id FROM dispatcher_dedup WHERE consumer = $1", [CONSUMER])).rows.map((r) => r.event_id as string);
    const applied = await dedup();
    expect(applied).toHaveLength(storedOfItsTypes);
    expect(applied).toEqual(
      expect.arrayContaining([
        ra!.event_id,
        ...(await pool.query("SELECT event_id FROM dispatcher_event WHERE payload->>'credit_reservation_id' = $1", [b.id])).rows.map(
          (r) => r.event_id,
        ),
      ]),
    );
    const rewound = await admin.resetCursor({ consumer: CONSUMER, to: new Date(0), reprocess: true, confirm: CONSUMER });
    expect(rewound.forgotten).toBe(storedOfItsTypes);
    await caughtUp();
    expect(await availability()).toEqual(before);
    // Every one of them applied again, once.
    expect((await dedup()).sort()).toEqual([...applied].sort());
    // replay of a dead letter for an event the projection already applied
    await pool.query(
      `INSERT INTO dispatcher_dead_letter
         (id, consumer, event_id, event_type, envelope, error_class, error_message, fingerprint, attempts, first_failed_at, last_failed_at)
       SELECT 'dlq_' || gen_random_uuid(), $1, event_id, event_type,
              jsonb_build_object('event_id', event_id, 'event_type', event_type, 'occurred_at', occurred_at, 'tenant_id', tenant_id,
                'producer', producer, 'schema_version', schema_version, 'payload', payload),
              'Error', 'simulated', 'f', 4, now(), now() FROM dispatcher_event WHERE event_id = $2`,
      [CONSUMER, ra!.event_id],
    );
    const [dead] = await admin.deadLetters.list(CONSUMER);
    // admin runs no consumer: the replay is requested of the running coaching process, which performs it.
    const replayed = await admin.deadLetters.replay(dead!.id, { replayedBy: "per_ops" });
    expect(replayed.outcome).toBe("requested");
    const resolution = async () =>
      (
        await pool.query("SELECT resolved_by, resolution_note FROM dispatcher_dead_letter WHERE id = $1 AND resolved_at IS NOT NULL", [
          dead!.id,
        ])
      ).rows[0];
    for (let i = 0; i < 200 && !(await resolution()); i += 1) await new Promise((r) => setTimeout(r, 25));
    expect(await resolution()).toEqual({ resolved_by: "per_ops", resolution_note: "replay: the consumer already had this event" });
    expect(await availability()).toEqual(before);
    await admin.close();
  });

  it("rebuild gives the same projection as live", async () => {
    const lesson = id("les");
    const rs = Array.from({ length: 5 }, () => reservation(lesson));
    await revenue.publishMany([...rs.map((r) => r.reserved), rs[0]!.locked, rs[1]!.released, rs[2]!.locked, rs[2]!.forfeited]);
    await caughtUp();
    const live = await availability();
    const prisma = createPrisma(db.url);
    const admin = coachingDispatcher(prisma, db.url);
    await rebuild(prisma, admin);
    await caughtUp();
    expect(await availability()).toEqual(live);
    expect(await heldFor(lesson)).toBe(3);
    await admin.close();
    await prisma.$disconnect();
  });
});

describe("the cutover", () => {
  it("backfills from Revenue's read API, shadows with no drift, reports an injected drift, then cuts over", async () => {
    await pool.query("TRUNCATE slot_claim, cutover_state");
    const lesson = id("les");
    const [a, b] = [reservation(lesson), reservation(lesson)];
    truth = [
      { id: a.id, lesson_id: lesson, organization_id: "org_1", state: "locked" },
      { id: b.id, lesson_id: lesson, organization_id: "org_1", state: "released" },
    ];
    const prisma = createPrisma(db.url);
    expect(await backfill(prisma, revenueApiUrl)).toEqual({ reservations: 2 });
    expect(await heldFor(lesson)).toBe(1);
    await revenue.publishMany([a.reserved, a.locked, b.reserved, b.released]);
    await caughtUp();
    expect(await shadowCompare(prisma, revenueApiUrl)).toMatchObject({ drift: [] });
    await pool.query("UPDATE slot_claim SET status = 'released' WHERE credit_reservation_id = $1", [a.id]);
    const report = await shadowCompare(prisma, revenueApiUrl);
    expect(report.drift).toContainEqual({ reservation_id: a.id, expected: "held", actual: "released" });
    // async: the fake Revenue API answers from this process
    const cli = spawn(process.execPath, ["dist/cli.js", "shadow", "--revenue-url", revenueApiUrl], {
      env: { ...process.env, DATABASE_URL: db.url },
    });
    let out = "";
    cli.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const [code] = (await once(cli, "exit")) as [number];
    expect(code).toBe(1);
    expect(out).toContain(`drift ${a.id}: Revenue says held, projection has released`);
    await cutOver(prisma);
    await expect(backfill(prisma, revenueApiUrl)).rejects.toThrow("already cut over to events: backfill would overwrite the projection");
    expect(((await (await fetch(`${coaching.url}/status`)).json()) as { mode: string }).mode).toBe("events");
    await prisma.$disconnect();
  });
});
