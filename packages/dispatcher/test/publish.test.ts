import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DispatcherConfigError,
  EnvelopeValidationError,
  InvalidArgumentError,
  PayloadValidationError,
  ProducerMismatchError,
  SchemaVersionError,
  UnknownEventTypeError,
  createDispatcher,
  type Dispatcher,
} from "../src/index.js";
import { caught, id, lockedPayload, testDb, type TestDb } from "./helpers.js";

let db: TestDb;
let revenue: Dispatcher;
const events = () =>
  db.pool
    .query("SELECT event_id, event_type, producer, tenant_id, actor, subject, payload FROM dispatcher_event ORDER BY id")
    .then((r) => r.rows);

beforeAll(async () => {
  db = await testDb();
  revenue = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", prismaClient: db.prisma });
});
afterAll(async () => {
  await revenue.close();
  await db.drop();
});

describe("publish in a Prisma interactive transaction", () => {
  it("commits the event with the domain write", async () => {
    await db.pool.query("TRUNCATE dispatcher_event, credit_reservation");
    const reservation = id("crr");
    const payload = lockedPayload({ credit_reservation_id: reservation });
    const envelope = await db.prisma.$transaction(async (tx) => {
      await tx.creditReservation.create({ data: { id: reservation, state: "locked" } });
      return revenue.publish({ event_type: "credit.locked", payload, subject: payload.person_id }, { tx });
    });
    expect(await events()).toEqual([
      {
        event_id: envelope.event_id,
        event_type: "credit.locked",
        producer: "revenue",
        tenant_id: "tnt_sguild",
        actor: "system:revenue",
        subject: payload.person_id,
        payload,
      },
    ]);
    expect(envelope.schema_version).toBe(1);
    expect(envelope.event_id).toMatch(/^evt_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("rolls the event back with the domain write", async () => {
    await db.pool.query("TRUNCATE dispatcher_event, credit_reservation");
    const error = await caught(() =>
      db.prisma.$transaction(async (tx) => {
        await tx.creditReservation.create({ data: { id: id("crr"), state: "locked" } });
        await revenue.publish({ event_type: "credit.locked", payload: lockedPayload() }, { tx });
        throw new Error("domain rule failed after publish");
      }),
    );
    expect(error.message).toBe("domain rule failed after publish");
    expect(await db.count("SELECT count(*) AS n FROM dispatcher_event")).toBe(0);
    expect(await db.count("SELECT count(*) AS n FROM credit_reservation")).toBe(0);
  });
});

describe("publish in a pg transaction", () => {
  const pgRevenue = () => createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });

  it("commits and rolls back with the caller's BEGIN", async () => {
    await db.pool.query("TRUNCATE dispatcher_event");
    const d = pgRevenue();
    const client = await db.pool.connect();
    await client.query("BEGIN");
    const kept = await d.publish({ event_type: "credit.locked", payload: lockedPayload() }, { tx: client });
    await client.query("COMMIT");
    await client.query("BEGIN");
    await d.publish({ event_type: "credit.locked", payload: lockedPayload() }, { tx: client });
    await client.query("ROLLBACK");
    client.release();
    expect((await events()).map((e) => e.event_id)).toEqual([kept.event_id]);
  });

  it("without tx runs on its own; publishMany writes all in one statement", async () => {
    await db.pool.query("TRUNCATE dispatcher_event");
    const d = pgRevenue();
    const many = await d.publishMany([
      { event_type: "credit.locked", payload: lockedPayload() },
      {
        event_type: "credit.consumed",
        payload: { credit_reservation_id: id("crr"), lesson_id: id("les"), consumed_credits: 1, consumed_at: new Date().toISOString() },
      },
    ]);
    expect((await events()).map((e) => [e.event_id, e.event_type])).toEqual(many.map((e) => [e.event_id, e.event_type]));
  });
});

describe("refusals: a typed error, and nothing written", () => {
  const publishing = async (fn: () => Promise<unknown>) => {
    await db.pool.query("TRUNCATE dispatcher_event");
    const error = await caught(fn);
    expect(await db.count("SELECT count(*) AS n FROM dispatcher_event")).toBe(0);
    return error;
  };

  it("unknown event_type", async () => {
    const error = await publishing(() => revenue.publish({ event_type: "credit.lockd", payload: {} } as never));
    expect(error).toBeInstanceOf(UnknownEventTypeError);
    expect([error.code, error.message]).toEqual(["UNKNOWN_EVENT_TYPE", 'event_type "credit.lockd" is not in the event-type registry']);
  });

  it("an event_type registered to another producer", async () => {
    const error = await publishing(() => revenue.publish({ event_type: "lead.created", payload: {} } as never));
    expect(error).toBeInstanceOf(ProducerMismatchError);
    expect([error.code, error.message]).toEqual([
      "PRODUCER_MISMATCH",
      '"lead.created" is produced by "sales" per the registry; this dispatcher is configured as producer "revenue"',
    ]);
  });

  it("a schema_version that is not registered, or has no payload schema", async () => {
    const notRegistered = await publishing(() =>
      revenue.publish({ event_type: "credit.released", schema_version: 3, payload: {} } as never),
    );
    expect(notRegistered).toBeInstanceOf(SchemaVersionError);
    expect([notRegistered.code, notRegistered.message]).toEqual([
      "SCHEMA_VERSION_NOT_REGISTERED",
      'schema_version 3 of "credit.released" is not registered',
    ]);
    const growth = createDispatcher({ producer: "growth", tenantId: "tnt_sguild", pool: db.pool });
    const noSchema = await publishing(() => growth.publish({ event_type: "intake.captured", schema_version: 1, payload: {} } as never));
    expect([noSchema.code, noSchema.message]).toEqual([
      "NO_PAYLOAD_SCHEMA",
      'schema_version 1 of "intake.captured" has no payload schema in the registry',
    ]);
  });

  it("a payload that fails its schema, listing every failing field", async () => {
    const payload = { ...lockedPayload({ locked_credits: 0, lesson_id: "les_nope" }) } as Record<string, unknown>;
    delete payload["locked_at"];
    const error = await publishing(() => revenue.publish({ event_type: "credit.locked", payload } as never));
    expect(error).toBeInstanceOf(PayloadValidationError);
    expect(error.code).toBe("PAYLOAD_INVALID");
    expect(error.issues).toEqual([
      { path: "/locked_at", keyword: "required", message: "must have required property 'locked_at'" },
      {
        path: "/lesson_id",
        keyword: "pattern",
        message: 'must match pattern "^les_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"',
      },
      { path: "/locked_credits", keyword: "minimum", message: "must be >= 1" },
    ]);
  });

  it("envelope fields that fail: subject, actor, correlation_id", async () => {
    const error = await publishing(() =>
      revenue.publish({
        event_type: "credit.locked",
        payload: lockedPayload(),
        subject: "person-42",
        actor: "system:billing",
        correlation_id: "evt_1",
      }),
    );
    expect(error).toBeInstanceOf(EnvelopeValidationError);
    expect(error.code).toBe("ENVELOPE_INVALID");
    expect(error.issues.map((i: { path: string; keyword: string }) => `${i.path}:${i.keyword}`)).toEqual([
      "/subject:pattern",
      "/actor:pattern",
      "/correlation_id:pattern",
    ]);
  });

  it("publishMany validates every emit before writing any", async () => {
    const error = await publishing(() =>
      revenue.publishMany([
        { event_type: "credit.locked", payload: lockedPayload() },
        { event_type: "credit.locked", payload: lockedPayload({ locked_credits: -1 }) },
      ]),
    );
    expect(error).toBeInstanceOf(PayloadValidationError);
  });

  it("not an emit at all", async () => {
    const error = await publishing(() => revenue.publish(null as never));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: "INVALID_ARGUMENT", argument: "emit" });
  });

  it("missing configuration names the setting and how to give it", () => {
    const saved = { ...process.env };
    delete process.env["DISPATCHER_PRODUCER"];
    delete process.env["DISPATCHER_TENANT_ID"];
    delete process.env["DATABASE_URL"];
    try {
      const cases: Array<[object, string, string]> = [
        [{}, "producer", "producer is not set: pass configureDispatcher({ producer }) or set DISPATCHER_PRODUCER"],
        [{ producer: "billing" }, "producer", 'producer "billing" is not one of platform, growth, sales, delivery, revenue, coaching'],
        [{ producer: "revenue" }, "tenantId", "tenantId is not set: pass configureDispatcher({ tenantId }) or set DISPATCHER_TENANT_ID"],
        [
          { producer: "revenue", tenantId: "t" },
          "database",
          "no database: pass configureDispatcher({ prismaClient }) or ({ pool }) or ({ databaseUrl }), or set DATABASE_URL",
        ],
        [
          { producer: "revenue", tenantId: "t", pool: db.pool, schema: "bad-name" },
          "schema",
          'schema name "bad-name" is not a plain Postgres identifier (letters, digits, _; at most 63)',
        ],
      ];
      for (const [config, setting, message] of cases) {
        const error = (() => {
          try {
            createDispatcher(config);
          } catch (e) {
            return e as DispatcherConfigError;
          }
        })();
        expect(error).toBeInstanceOf(DispatcherConfigError);
        expect([error?.code, error?.setting, error?.message]).toEqual(["CONFIG_INVALID", setting, message]);
      }
    } finally {
      process.env = saved;
    }
  });

  it("the environment fallbacks configure a dispatcher", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { DISPATCHER_PRODUCER: "revenue", DISPATCHER_TENANT_ID: "tnt_env", DATABASE_URL: db.url });
    try {
      const d = createDispatcher({});
      const e = await d.publish({ event_type: "credit.locked", payload: lockedPayload() });
      expect(e.tenant_id).toBe("tnt_env");
      await d.close();
    } finally {
      process.env = saved;
    }
  });
});

describe("ids and concurrency", () => {
  it("event ids sort by creation time", async () => {
    await db.pool.query("TRUNCATE dispatcher_event");
    for (let i = 0; i < 200; i += 1) await revenue.publish({ event_type: "credit.locked", payload: lockedPayload() });
    const rows = (await db.pool.query("SELECT event_id FROM dispatcher_event ORDER BY id")).rows.map((r) => r.event_id);
    expect([...rows].sort()).toEqual(rows);
    expect(new Set(rows).size).toBe(200);
  });

  it("20 concurrent publishers write exactly their events", async () => {
    await db.pool.query("TRUNCATE dispatcher_event");
    const d = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
    const published = await Promise.all(
      Array.from({ length: 20 }, async (_, worker) => {
        const ids: string[] = [];
        for (let batch = 0; batch < 5; batch += 1) {
          const client = await db.pool.connect();
          await client.query("BEGIN");
          for (let i = 0; i < 10; i += 1)
            ids.push(
              (await d.publish({ event_type: "credit.locked", payload: lockedPayload({ locked_credits: worker + 1 }) }, { tx: client }))
                .event_id,
            );
          await client.query("COMMIT");
          client.release();
        }
        return ids;
      }),
    );
    const stored = (await db.pool.query("SELECT event_id FROM dispatcher_event")).rows.map((r) => r.event_id).sort();
    expect(stored).toEqual(published.flat().sort());
    expect(stored).toHaveLength(1000);
  });
});
