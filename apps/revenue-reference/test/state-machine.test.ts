import pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@sguild/prisma-fragment/testing";
import { startRevenue } from "../src/main.js";

let db: TestDatabase;
let pool: pg.Pool;
let revenue: { url: string; stop(): Promise<void> };
const id = (p: string) => `${p}_${uuidv7()}`;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
  revenue = await startRevenue({ databaseUrl: db.url });
  pool = new pg.Pool({ connectionString: db.url });
});
afterAll(async () => {
  await revenue.stop();
  await pool.end();
  await db.drop();
});

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${revenue.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}
const events = async () => (await pool.query("SELECT event_type, schema_version, subject, payload FROM dispatcher_event ORDER BY id")).rows;

async function account(credits = 10) {
  const person = id("per");
  const a = await call("POST", "/accounts", { person_id: person });
  await call("POST", `/accounts/${a.body.id}/purchases`, { credits });
  return { accountId: a.body.id as string, person };
}
async function reservation(accountId: string) {
  const r = await call("POST", "/reservations", {
    account_id: accountId,
    lesson_id: id("les"),
    organization_id: "org_1",
    credits: 2,
    lesson_starts_at: "2026-12-01T16:00:00Z",
  });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

/** The legal path to each state. */
const paths: Record<string, Array<[string, unknown?]>> = {
  reserved: [],
  locked: [["lock"]],
  consumed: [["lock"], ["consume"]],
  forfeited: [["lock"], ["forfeit", { reason: "no_show" }]],
  released: [["release", { initiator: "customer", reason_code: "customer_requested_in_window" }]],
  funded: [["fund", { source: "invoice_paid" }]],
  refunding: [
    ["fund", { source: "invoice_paid" }],
    ["refund", { reason: "weather", amount_cents: 100 }],
  ],
  refunded: [
    ["fund", { source: "invoice_paid" }],
    ["refund", { reason: "weather", amount_cents: 100 }],
    ["refund/complete", { reason: "weather", amount_cents: 100 }],
  ],
};
const actions: Record<string, unknown> = {
  lock: undefined,
  consume: undefined,
  forfeit: { reason: "late_cancel" },
  release: { initiator: "admin", reason_code: "administrative_void" },
  fund: { source: "credits_available" },
  refund: { reason: "weather", amount_cents: 100 },
  "refund/complete": { reason: "weather", amount_cents: 100 },
};
// state -> action -> what the 409 names as the current state
const illegal: Array<[string, string, string]> = [
  ["locked", "lock", "locked"],
  ["consumed", "lock", "consumed"],
  ["forfeited", "lock", "forfeited"],
  ["released", "lock", "released"],
  ["reserved", "consume", "reserved"],
  ["consumed", "consume", "consumed"],
  ["forfeited", "consume", "forfeited"],
  ["released", "consume", "released"],
  ["consumed", "release", "consumed"],
  ["forfeited", "release", "forfeited"],
  ["released", "release", "released"],
  ["reserved", "forfeit", "reserved"],
  ["consumed", "forfeit", "consumed"],
  ["forfeited", "forfeit", "forfeited"],
  ["released", "forfeit", "released"],
  ["funded", "fund", "reserved (funding funded)"],
  ["refunding", "fund", "reserved (funding refunding)"],
  ["refunded", "fund", "reserved (funding refunded)"],
  ["reserved", "refund", "reserved (funding pending_funding)"],
  ["refunding", "refund", "reserved (funding refunding)"],
  ["refunded", "refund", "reserved (funding refunded)"],
  ["reserved", "refund/complete", "reserved (funding pending_funding)"],
  ["funded", "refund/complete", "reserved (funding funded)"],
  ["refunded", "refund/complete", "reserved (funding refunded)"],
];

describe("the lock and funding state machine", () => {
  it.each(illegal)("from %s, %s is refused with 409 naming the state; nothing written or published", async (state, action, named) => {
    const { accountId } = await account();
    const r = await reservation(accountId);
    for (const [step, body] of paths[state]!) expect((await call("POST", `/reservations/${r}/${step}`, body)).status).toBe(200);
    const before = {
      events: (await events()).length,
      row: (await call("GET", `/reservations/${r}`)).body,
      balance: (await pool.query("SELECT balance FROM credit_account WHERE id = $1", [accountId])).rows[0].balance,
    };
    const refused = await call("POST", `/reservations/${r}/${action}`, actions[action]);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toEqual({
      code: "ILLEGAL_TRANSITION",
      message: expect.stringContaining(`: it is ${named}`),
      current_state: named,
    });
    expect((await events()).length).toBe(before.events);
    expect((await call("GET", `/reservations/${r}`)).body).toEqual(before.row);
    expect((await pool.query("SELECT balance FROM credit_account WHERE id = $1", [accountId])).rows[0].balance).toBe(before.balance);
  });

  it("publishes every transition's event in the domain transaction, credit.released at v2", async () => {
    await pool.query("TRUNCATE dispatcher_event");
    const { accountId, person } = await account(5);
    const a = await reservation(accountId);
    await call("POST", `/reservations/${a}/fund`, { source: "invoice_paid" });
    await call("POST", `/reservations/${a}/lock`);
    await call("POST", `/reservations/${a}/release`, { initiator: "system_weather", reason_code: "weather" });
    await call("POST", `/reservations/${a}/refund`, { reason: "weather", amount_cents: 4500 });
    await call("POST", `/reservations/${a}/refund/complete`, { reason: "weather", amount_cents: 4500 });
    const list = await events();
    expect(list.map((e) => `${e.event_type}@${e.schema_version}`)).toEqual([
      "credit.purchased@1",
      "credit.reserved@1",
      "credit.funded@1",
      "reservation.funded@1",
      "credit.locked@1",
      "customer.handoff@1",
      "credit.released@2",
      "reservation.refunding@1",
      "reservation.refunded@1",
    ]);
    expect(list.every((e) => e.subject === person)).toBe(true);
    expect(list[6].payload).toMatchObject({
      credit_reservation_id: a,
      credit_account_id: accountId,
      released_credits: 2,
      initiator: "system_weather",
      reason_code: "weather",
      reversal_reason: "Credits Released",
    });
    expect((await pool.query("SELECT balance FROM credit_account WHERE id = $1", [accountId])).rows[0].balance).toBe(5);
  });

  it("publishes customer.handoff once per Person, however many locks and retries", async () => {
    await pool.query("TRUNCATE dispatcher_event");
    const { accountId, person } = await account(10);
    const [first, second] = [await reservation(accountId), await reservation(accountId)];
    expect((await call("POST", `/reservations/${first}/lock`)).status).toBe(200);
    expect((await call("POST", `/reservations/${first}/lock`)).status).toBe(409);
    expect((await call("POST", `/reservations/${second}/lock`)).status).toBe(200);
    const handoffs = (await events()).filter((e) => e.event_type === "customer.handoff");
    expect(handoffs.map((e) => e.payload)).toEqual([
      { person_id: person, first_lesson_id: expect.stringMatching(/^les_/), credit_reservation_id: first, handoff_at: expect.any(String) },
    ]);
  });

  it("refuses bad input with 400 naming the field, and an unknown reservation with 404", async () => {
    expect((await call("POST", "/accounts", { person_id: "bob" })).body).toEqual({
      error: { code: "INVALID_ARGUMENT", message: "person_id must be a per_<uuid v7> id", field: "person_id" },
    });
    const { accountId } = await account(1);
    expect(
      (
        await call("POST", "/reservations", {
          account_id: accountId,
          lesson_id: id("les"),
          organization_id: "o",
          credits: 0,
          lesson_starts_at: "2026-12-01T00:00:00Z",
        })
      ).body.error.field,
    ).toBe("credits");
    const tooMany = await call("POST", "/reservations", {
      account_id: accountId,
      lesson_id: id("les"),
      organization_id: "o",
      credits: 5,
      lesson_starts_at: "2026-12-01T00:00:00Z",
    });
    expect([tooMany.status, tooMany.body.error.code]).toEqual([409, "INSUFFICIENT_CREDITS"]);
    const missing = await call("POST", `/reservations/${id("crr")}/lock`);
    expect([missing.status, missing.body.error.code]).toEqual([404, "NOT_FOUND"]);
  });

  it("the merged Prisma schema is what the fragment CLI produces (a second merge changes nothing)", async () => {
    const { mergeFragment } = await import("@sguild/prisma-fragment");
    expect(mergeFragment({ schemaFile: "prisma/schema.prisma", migrationsDir: "prisma/migrations" })).toEqual({
      addedModels: [],
      upgradedModels: [],
      addedMigrations: [],
      notes: [],
    });
  });
});
