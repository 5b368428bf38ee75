import { expect } from "vitest";
import { id } from "./helpers.js";

// Shared by publish-faults.test.ts and publish-faults-writers.test.ts (issue 11, items 13 and 14).

export const reserved = (overrides: Record<string, unknown> = {}) => ({
  event_type: "credit.reserved" as const,
  payload: {
    credit_reservation_id: id("crr"),
    credit_account_id: id("crd_acct"),
    person_id: id("per"),
    lesson_id: id("les"),
    organization_id: "org_1",
    reserved_credits: 1,
    reserved_at: "2026-06-01T10:00:00Z",
    lesson_starts_at: "2026-06-02T10:00:00Z",
    ...overrides,
  },
});
export const intake = (submission: { first_name?: string; dob?: string } = {}, browser_metadata: object | null = null) => ({
  event_type: "intake.captured" as const,
  schema_version: 2 as const,
  payload: {
    form_submission_id: id("fsm"),
    visitor_id: "v1",
    source: "web_form" as const,
    submitted_at: "2026-06-01T10:00:00Z",
    submission: { first_name: "Ada", last_name: "Lovelace", phone: "555", zip: "12345", ...submission },
    browser_metadata: browser_metadata as Record<string, unknown> | null,
  },
});

export const NUL = (path: string, index: number) => ({
  path,
  keyword: "noNulCharacter",
  message: `must not contain the NUL character \\u0000 (at index ${index}): PostgreSQL cannot store it`,
});
export const SURROGATE = (path: string, code: string, index: number) => ({
  path,
  keyword: "wellFormedUnicode",
  message: `must be well-formed Unicode: a lone surrogate \\u${code} at index ${index}`,
});
export const TIMESTAMP = (path: string, value: string) => ({
  path,
  keyword: "timestampRange",
  message: `must be a date-time PostgreSQL can store: a year from 0001 to 9999 and a UTC offset of at most ±15:59 (got "${value}")`,
});

/** Runs `fn`, which must throw; asserts nothing was written (events and the domain table). */
export async function refusedIn(
  db: { pool: { query(sql: string): Promise<unknown> }; count(sql: string): Promise<number> },
  fn: () => Promise<unknown>,
): Promise<any> {
  await db.pool.query("TRUNCATE dispatcher_event, credit_reservation");
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  expect(error, "expected an error, none was thrown").toBeDefined();
  expect(await db.count("SELECT count(*) AS n FROM dispatcher_event")).toBe(0);
  expect(await db.count("SELECT count(*) AS n FROM credit_reservation")).toBe(0);
  return error;
}
