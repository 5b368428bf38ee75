// pnpm demo: starts an embedded PostgreSQL, applies the dispatcher fragment, publishes events in
// a transaction with a domain write, consumes them through a handler that writes a projection in
// the delivery transaction, prints what happened, and stops everything.
import pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { startTestPostgres, createTestDatabase } from "@sguild/prisma-fragment/testing";
import { createDispatcher } from "@sguild/dispatcher";

const id = (prefix) => `${prefix}_${uuidv7()}`;
const step = (text) => console.log(`• ${text}`);

step("starting an embedded PostgreSQL (real binaries from npm)");
const server = await startTestPostgres();
let failed = false;
try {
  const db = await createTestDatabase({ adminUrl: server.adminUrl });
  step(`database ready, dispatcher migration applied (${server.source})`);
  const pool = new pg.Pool({ connectionString: db.url });
  await pool.query("CREATE TABLE credit_reservation (id text PRIMARY KEY, state text NOT NULL); CREATE TABLE availability (lesson_id text PRIMARY KEY, held int NOT NULL)");

  const revenue = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool });
  const coaching = createDispatcher({ producer: "coaching", tenantId: "tnt_sguild", pool, databaseUrl: db.url });
  const received = [];
  coaching.subscribe("credit.reserved", async (event, ctx) => {
    await ctx.tx.query("INSERT INTO availability (lesson_id, held) VALUES ($1, 1) ON CONFLICT (lesson_id) DO UPDATE SET held = availability.held + 1", [event.payload.lesson_id]);
    received.push(event);
  });
  await coaching.start({ consumer: "coaching", pollIntervalMs: 1000 });

  const lesson = id("les");
  for (let i = 0; i < 3; i += 1) {
    const client = await pool.connect();
    await client.query("BEGIN");
    const reservation = id("crr");
    await client.query("INSERT INTO credit_reservation (id, state) VALUES ($1, 'reserved')", [reservation]);
    const person = id("per");
    const envelope = await revenue.publish(
      {
        event_type: "credit.reserved",
        payload: {
          credit_reservation_id: reservation, credit_account_id: id("crd_acct"), person_id: person, lesson_id: lesson,
          organization_id: "org_demo", reserved_credits: 1, reserved_at: new Date().toISOString(), lesson_starts_at: new Date(Date.now() + 864e5).toISOString(),
        },
        subject: person,
      },
      { tx: client },
    );
    await client.query("COMMIT");
    client.release();
    step(`revenue committed reservation ${reservation.slice(0, 12)}… with ${envelope.event_type} ${envelope.event_id.slice(0, 16)}…`);
  }
  const refused = await revenue.publish({ event_type: "credit.reserved", payload: { credit_reservation_id: "nope" } }).catch((e) => e);
  step(`a bad payload is refused: ${refused.code}: ${refused.message.slice(0, 90)}…`);

  const deadline = Date.now() + 10_000;
  while (received.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const held = (await pool.query("SELECT held FROM availability WHERE lesson_id = $1", [lesson])).rows[0]?.held ?? 0;
  step(`coaching received ${received.length} events; availability projection holds ${held} slots for the lesson`);
  failed = received.length !== 3 || held !== 3;
  await coaching.close();
  await revenue.close();
  await pool.end();
  await db.drop();
} finally {
  await server.stop();
}
console.log(failed ? "demo FAILED: the projection disagrees with what was published" : "demo finished: every event delivered exactly once");
process.exit(failed ? 1 : 0);
