import pg from "pg";
import { describe, expect, it } from "vitest";
import { databaseUnreachable } from "../src/cli/unreachable.js";

const withCode = (message: string, fields: Record<string, unknown>) => Object.assign(new Error(message), fields);

describe("databaseUnreachable (the CLI's exit 2, 'cannot reach the database')", () => {
  it("is true for what pg throws when nothing listens", async () => {
    const pool = new pg.Pool({ connectionString: "postgres://u:p@127.0.0.1:1/db", connectionTimeoutMillis: 2000 });
    const refused = await pool.query("SELECT 1").catch((error: unknown) => error);
    await pool.end();
    expect(refused).toMatchObject({ code: "ECONNREFUSED" });
    expect(databaseUnreachable(refused)).toBe(true);
  });

  it("decides from Node's codes and syscall and from PostgreSQL's SQLSTATE", () => {
    expect(databaseUnreachable(withCode("getaddrinfo ENOTFOUND db.invalid", { code: "ENOTFOUND", syscall: "getaddrinfo" }))).toBe(true);
    expect(databaseUnreachable(withCode("connect ENOENT /run/postgresql/.s.PGSQL.5432", { code: "ENOENT", syscall: "connect" }))).toBe(
      true,
    );
    expect(databaseUnreachable(withCode('password authentication failed for user "u"', { code: "28P01" }))).toBe(true);
    expect(databaseUnreachable(withCode('database "nope" does not exist', { code: "3D000" }))).toBe(true);
    expect(databaseUnreachable(withCode("the database system is starting up", { code: "57P03" }))).toBe(true);
    expect(databaseUnreachable(new Error("pool gave up", { cause: withCode("connect ETIMEDOUT", { code: "ETIMEDOUT" }) }))).toBe(true);
  });

  it("is true for pg's own code-less connection failures, by their exact message", () => {
    expect(databaseUnreachable(new Error("timeout exceeded when trying to connect"))).toBe(true);
    expect(databaseUnreachable(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(
      databaseUnreachable(
        new Error("Connection terminated due to connection timeout", { cause: new Error("Connection terminated unexpectedly") }),
      ),
    ).toBe(true);
  });

  it("is false for a failure of the command itself, whatever its message says", () => {
    expect(databaseUnreachable(withCode('relation "dispatcher_events" does not exist', { code: "42P01" }))).toBe(false);
    expect(databaseUnreachable(withCode("canceling statement due to statement timeout", { code: "57014" }))).toBe(false);
    expect(databaseUnreachable(new Error("cannot connect the dots"))).toBe(false);
    expect(databaseUnreachable(withCode("timeout exceeded when trying to connect", { code: "SOMETHING_ELSE" }))).toBe(false);
    expect(databaseUnreachable("ECONNREFUSED")).toBe(false);
    expect(databaseUnreachable(undefined)).toBe(false);
  });
});
