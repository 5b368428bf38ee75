import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EnvelopeValidationError,
  InvalidArgumentError,
  PayloadValidationError,
  TransactionAbortedError,
  createDispatcher,
  type Dispatcher,
} from "../src/index.js";
import { id, lockedPayload, testDb, until, type TestDb } from "./helpers.js";
import { NUL, SURROGATE, TIMESTAMP, intake, refusedIn, reserved } from "./publish-faults-fixtures.js";

// Issue 11, items 13 and 14: what JSON Schema lets through but PostgreSQL cannot store, and a `tx`
// that is not the caller's transaction. Each is a typed error with a stable code, before any SQL
// where it can be, and nothing is written. The other writers: publish-faults-writers.test.ts.

let db: TestDb;
let revenue: Dispatcher;
let growth: Dispatcher;

beforeAll(async () => {
  db = await testDb();
  revenue = createDispatcher({ producer: "revenue", tenantId: "tnt_sguild", pool: db.pool });
  growth = createDispatcher({ producer: "growth", tenantId: "tnt_sguild", pool: db.pool });
});
afterAll(async () => {
  await revenue.close();
  await growth.close();
  await db.drop();
});

const rows = () => db.count("SELECT count(*) AS n FROM dispatcher_event");
const caughtSync = (fn: () => unknown): any => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error, none was thrown");
};
const refused = (fn: () => Promise<unknown>) => refusedIn(db, fn);

describe("text PostgreSQL cannot store is a validation error naming the field (was 22P05, 22P02, 22021)", () => {
  it("a NUL character or a lone surrogate in a payload string: PAYLOAD_INVALID", async () => {
    for (const [value, issue] of [
      ["org\u0000x", NUL("/organization_id", 3)],
      ["org\ud800", SURROGATE("/organization_id", "d800", 3)],
      ["\udc00org", SURROGATE("/organization_id", "dc00", 0)],
    ] as const) {
      const error = await refused(() => revenue.publish(reserved({ organization_id: value })));
      expect(error).toBeInstanceOf(PayloadValidationError);
      expect([error.code, error.eventType, error.schemaVersion, error.issues]).toEqual(["PAYLOAD_INVALID", "credit.reserved", 1, [issue]]);
    }
    // Control: a well-formed surrogate pair is stored and read back as it was.
    const e = await revenue.publish(reserved({ organization_id: "org \u{1F600}" }));
    expect(
      (await db.pool.query("SELECT payload->>'organization_id' AS o FROM dispatcher_event WHERE event_id = $1", [e.event_id])).rows,
    ).toEqual([{ o: "org \u{1F600}" }]);
  });

  it("anywhere in the payload: nested strings, property names, arrays; a BigInt or a cycle is refused the same way", async () => {
    const metadata = { "user\u0000agent": "x", list: ["fine", "bad\udfff"], depth: { big: 10n } };
    const error = await refused(() => growth.publish(intake({ first_name: "A\u0000da" }, metadata)));
    expect(error).toBeInstanceOf(PayloadValidationError);
    expect([error.code, error.eventType, error.schemaVersion]).toEqual(["PAYLOAD_INVALID", "intake.captured", 2]);
    expect(error.issues).toEqual([
      NUL("/submission/first_name", 1),
      { ...NUL("/browser_metadata/user\u0000agent", 4), message: `property name ${NUL("", 4).message}` },
      SURROGATE("/browser_metadata/list/1", "dfff", 3),
      {
        path: "/browser_metadata/depth/big",
        keyword: "type",
        message: "must be a JSON value: a BigInt has no JSON form (pass a number or a string)",
      },
    ]);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic["self"] = cyclic;
    const cycle = await refused(() => growth.publish(intake({}, cyclic)));
    expect([cycle.code, cycle.issues]).toEqual([
      "PAYLOAD_INVALID",
      [{ path: "/browser_metadata/self", keyword: "cycle", message: "must be a JSON value: it contains itself (a circular reference)" }],
    ]);
  });

  it("in an envelope field: subject: ENVELOPE_INVALID; a tenant id is refused when configured: CONFIG_INVALID", async () => {
    const subject = await refused(() => revenue.publish({ ...reserved(), subject: `${id("per")}\u0000` }));
    expect(subject).toBeInstanceOf(EnvelopeValidationError);
    expect([subject.code, subject.issues.map((i: { path: string; keyword: string }) => `${i.path}:${i.keyword}`)]).toEqual([
      "ENVELOPE_INVALID",
      ["/subject:pattern", "/subject:noNulCharacter"],
    ]);
    for (const tenantId of ["tnt\u0000sguild", "tnt\ud800", "  ", "tnt\nsguild"]) {
      const error = await caughtSync(() => createDispatcher({ producer: "revenue", tenantId, pool: db.pool }));
      expect([error.code, error.setting, error.message]).toEqual([
        "CONFIG_INVALID",
        "tenantId",
        `tenantId must be printable text, not blank, without control characters or lone surrogates (got ${JSON.stringify(tenantId)})`,
      ]);
    }
  });
});

describe("a publish field the dispatcher does not take is refused, not dropped", () => {
  const FIELDS = "event_type, payload, schema_version, subject, actor, correlation_id, occurred_at";
  it("event_id, tenant_id, producer (set by the dispatcher), or a typo: INVALID_ARGUMENT naming it; nothing written", async () => {
    for (const [key, own] of [
      ["event_id", " (the dispatcher sets event_id itself)"],
      ["tenant_id", " (the dispatcher sets tenant_id itself)"],
      ["producer", " (the dispatcher sets producer itself)"],
      ["evnt_id", ""],
    ] as const) {
      const error = await refused(() => revenue.publish({ ...reserved(), [key]: "x" } as never));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect([error.code, error.argument, error.message]).toEqual([
        "INVALID_ARGUMENT",
        key,
        `emit.${key} is not a publish field${own}: a publish takes ${FIELDS}`,
      ]);
    }
  });

  it("a key whose value is undefined (an object spread of optional fields) is no field: published", async () => {
    await db.pool.query("TRUNCATE dispatcher_event");
    const envelope = await revenue.publish({ ...reserved(), subject: undefined, tenant_id: undefined } as never);
    expect(await rows()).toBe(1);
    expect(envelope.tenant_id).toBe("tnt_sguild");
  });

  it("a schema_version that is not a positive integer: INVALID_ARGUMENT, not an unregistered version", async () => {
    for (const version of ["1", 0, 1.5, null]) {
      const error = await refused(() => revenue.publish({ ...reserved(), schema_version: version } as never));
      expect([error.code, error.argument, error.message]).toEqual([
        "INVALID_ARGUMENT",
        "schema_version",
        `emit.schema_version must be a positive integer (got ${JSON.stringify(version)})`,
      ]);
    }
  });
});

describe("dates PostgreSQL cannot store are validation errors (was 22008, 22009, RangeError)", () => {
  it("occurred_at with year 0000, as a string or a Date, or a UTC offset past ±15:59: ENVELOPE_INVALID", async () => {
    for (const [occurred_at, shown] of [
      ["0000-06-01T00:00:00Z", "0000-06-01T00:00:00Z"],
      [new Date("0000-06-01T00:00:00Z"), "0000-06-01T00:00:00.000Z"],
      ["2026-06-01T00:00:00+16:00", "2026-06-01T00:00:00+16:00"],
    ] as const) {
      const error = await refused(() => revenue.publish({ ...reserved(), occurred_at }));
      expect(error).toBeInstanceOf(EnvelopeValidationError);
      expect([error.code, error.issues]).toEqual(["ENVELOPE_INVALID", [TIMESTAMP("/occurred_at", shown)]]);
    }
  });

  it("an invalid Date: ENVELOPE_INVALID, not a RangeError", async () => {
    const error = await refused(() => revenue.publish({ ...reserved(), occurred_at: new Date("not a date") }));
    expect(error).toBeInstanceOf(EnvelopeValidationError);
    expect([error.code, error.issues]).toEqual([
      "ENVELOPE_INVALID",
      [{ path: "/occurred_at", keyword: "format", message: "must be a valid Date: this one is Invalid Date (its time value is NaN)" }],
    ]);
  });

  it("payload fields of format date-time or date, nested too: PAYLOAD_INVALID", async () => {
    const locked = await refused(() =>
      revenue.publish({ event_type: "credit.locked", payload: lockedPayload({ locked_at: "0000-12-31T23:00:00-01:00" }) }),
    );
    expect([locked.code, locked.issues]).toEqual(["PAYLOAD_INVALID", [TIMESTAMP("/locked_at", "0000-12-31T23:00:00-01:00")]]);
    const dob = await refused(() => growth.publish(intake({ dob: "0000-01-01" })));
    expect([dob.code, dob.issues]).toEqual([
      "PAYLOAD_INVALID",
      [
        {
          path: "/submission/dob",
          keyword: "dateRange",
          message: 'must be a date PostgreSQL can store: a year from 0001 to 9999 (got "0000-01-01")',
        },
      ],
    ]);
  });

  it("control: the edges PostgreSQL does store (year 0001, offset ±15:59, year 9999) are accepted", async () => {
    await db.pool.query("TRUNCATE dispatcher_event");
    const edges = ["0001-01-01T00:00:00+15:59", "9999-12-31T23:59:59-15:59"];
    for (const occurred_at of edges) await revenue.publish({ ...reserved({ reserved_at: occurred_at }), occurred_at });
    await growth.publish(intake({ dob: "0001-01-01" }));
    const stored = await db.pool.query(
      "SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI BC') AS t " +
        "FROM dispatcher_event WHERE event_type = 'credit.reserved' ORDER BY id",
    );
    expect(stored.rows.map((r) => r.t)).toEqual(["0001-12-31 08:01 BC", "10000-01-01 15:58 AD"]);
    expect(await rows()).toBe(3);
  });
});

describe("tx must be the caller's transaction (items 13, 14)", () => {
  const WHAT_TO_PASS =
    "pass the transaction client of prisma.$transaction(async (tx) => { ... }) as { tx }, " +
    "or a pg client from pool.connect() after BEGIN; omit tx to publish on its own";
  const expectInvalidTx = (error: any, message: string) => {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect([error.code, error.argument, error.details, error.message]).toEqual([
      "INVALID_ARGUMENT",
      "tx",
      { argument: "tx" },
      `${message}; ${WHAT_TO_PASS}`,
    ]);
  };

  it("not a client at all: {}, null, a string (was a TypeError)", async () => {
    expectInvalidTx(
      await refused(() => revenue.publish(reserved(), { tx: {} })),
      "tx must be a transaction client, got an object (Object) with no query method",
    );
    expectInvalidTx(await refused(() => revenue.publish(reserved(), { tx: null })), "tx must be a transaction client, got null");
    expectInvalidTx(await refused(() => revenue.publishMany([reserved()], { tx: "tx" })), "tx must be a transaction client, got string");
  });

  it("the root PrismaClient (plain or extended) is refused; nothing commits, the caller's transaction rolls back whole", async () => {
    const message = "tx is the root PrismaClient, not a transaction: the event would commit on its own, outside your transaction";
    expectInvalidTx(await refused(() => revenue.publish(reserved(), { tx: db.prisma })), message);
    expectInvalidTx(await refused(() => revenue.publish(reserved(), { tx: db.prisma.$extends({}) })), message);
    const inside = await refused(() =>
      db.prisma.$transaction(async (tx) => {
        await tx.creditReservation.create({ data: { id: id("crr"), state: "locked" } });
        await revenue.publish(reserved(), { tx: db.prisma });
      }),
    );
    expectInvalidTx(inside, message);
  });

  it("control: Prisma 7's interactive-transaction client is accepted though it, too, has $transaction", async () => {
    await db.pool.query("TRUNCATE dispatcher_event");
    const e = await db.prisma.$transaction(async (tx) => {
      expect([typeof tx.$transaction, typeof (tx as Record<string, unknown>)["$disconnect"]]).toEqual(["function", "undefined"]);
      return revenue.publish(reserved(), { tx });
    });
    expect((await db.pool.query("SELECT event_id FROM dispatcher_event")).rows).toEqual([{ event_id: e.event_id }]);
  });

  it("a pg.Pool, or a pg client outside BEGIN, is refused", async () => {
    expectInvalidTx(
      await refused(() => revenue.publish(reserved(), { tx: db.pool })),
      "tx is a pg.Pool, not a transaction: each query may run on another connection and commits on its own",
    );
    const client = await db.pool.connect();
    try {
      expectInvalidTx(
        await refused(() => revenue.publish(reserved(), { tx: client })),
        "tx is a pg client outside a transaction (no BEGIN): the event would commit on its own",
      );
      // Control: a BEGIN sent without awaiting it is in the client's queue, ahead of the insert: accepted.
      void client.query("BEGIN");
      const e = await revenue.publish(reserved(), { tx: client });
      await client.query("COMMIT");
      expect((await db.pool.query("SELECT event_id FROM dispatcher_event")).rows).toEqual([{ event_id: e.event_id }]);
    } finally {
      client.release();
    }
  });

  it("a freshly connected pg client that never ran a query is refused too, and nothing commits", async () => {
    const fresh = new pg.Client({ connectionString: db.url });
    await fresh.connect();
    try {
      expectInvalidTx(
        await refused(() => revenue.publish(reserved(), { tx: fresh })),
        "tx is a pg client outside a transaction (no BEGIN): the event would commit on its own",
      );
      expect(await db.count("SELECT count(*) AS n FROM dispatcher_event")).toBe(0);
    } finally {
      await fresh.end();
    }
  });
});

describe("an aborted transaction (25P02): TRANSACTION_ABORTED", () => {
  const expectAborted = (error: any) => {
    expect(error).toBeInstanceOf(TransactionAbortedError);
    expect([error.code, error.message]).toEqual([
      "TRANSACTION_ABORTED",
      "the transaction passed as tx is aborted (PostgreSQL 25P02: an earlier statement in it failed); " +
        "nothing was written: roll it back and retry the whole transaction",
    ]);
  };

  it("pg: known from the client's transaction status, before any SQL; or from the insert when a query was still queued", async () => {
    const client = await db.pool.connect();
    try {
      const before = await refused(async () => {
        await client.query("BEGIN");
        await client.query("SELECT 1/0").catch(() => undefined);
        // The error arrives before ReadyForQuery, which carries the status: wait for it.
        await until(() => client.getTransactionStatus() === "E", 2000, "ReadyForQuery after the error");
        try {
          await revenue.publish(reserved(), { tx: client });
        } finally {
          await client.query("ROLLBACK");
        }
      });
      expectAborted(before);
      expect(before.cause).toBeUndefined(); // no statement was sent
      const queued = await refused(async () => {
        await client.query("BEGIN");
        const failing = client.query("SELECT 1/0").catch(() => undefined); // not awaited: the insert queues behind it
        try {
          await revenue.publishMany([reserved(), reserved()], { tx: client });
        } finally {
          await failing;
          await client.query("ROLLBACK");
        }
      });
      expectAborted(queued);
      expect([queued.cause.code, queued.cause.message]).toEqual([
        "25P02",
        "current transaction is aborted, commands ignored until end of transaction block",
      ]);
    } finally {
      client.release();
    }
  });

  it("Prisma: the insert's P2010 with 25P02 becomes TransactionAbortedError, with Prisma's error as its cause", async () => {
    const error = await refused(() =>
      db.prisma.$transaction(async (tx) => {
        await tx.creditReservation.create({ data: { id: id("crr"), state: "locked" } });
        await tx.$queryRawUnsafe("SELECT 1/0").catch(() => undefined);
        await revenue.publish(reserved(), { tx });
      }),
    );
    expectAborted(error);
    expect([error.cause.name, error.cause.code, error.cause.meta.driverAdapterError.cause.originalCode]).toEqual([
      "PrismaClientKnownRequestError",
      "P2010",
      "25P02",
    ]);
  });
});
