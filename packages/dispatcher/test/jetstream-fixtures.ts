import pg from "pg";
import { expect } from "vitest";
import { id, lockedPayload, reservedPayload } from "./helpers.js";

export const TENANT = "tnt_sguild";

export const locked = () => ({ event_type: "credit.locked" as const, payload: lockedPayload({ locked_credits: 1 }) });
export const reserved = () => ({ event_type: "credit.reserved" as const, payload: reservedPayload() });
/** Produced by revenue, not consumed by coaching: published to the stream, never read by coaching's inbox. */
export const purchased = () => ({
  event_type: "credit.purchased" as const,
  payload: {
    credit_account_id: id("crd_acct"),
    person_id: id("per"),
    purchased_credits: 10,
    order_id: id("ord"),
    purchased_at: new Date().toISOString(),
  },
});

/** The event types coaching consumes among those the tests publish. */
export const COACHING_TYPES = ["credit.locked", "credit.reserved"];

/** The coaching-side ledger table: one row per handling by coaching's local consumer. */
export const APPLIED_LOG_SQL = "CREATE TABLE IF NOT EXISTS applied_log (consumer text NOT NULL, event_id text NOT NULL)";

export interface Ledger {
  produced: number;
  stored: number;
  applied: number;
  missing: string[];
  extra: string[];
  storedTwice: number;
  appliedTwice: number;
  orderViolations: string[];
}

/**
 * Produced (revenue's events of the types coaching consumes) against stored (coaching's
 * dispatcher_event) and applied (coaching's applied_log): every produced id stored exactly once and
 * applied exactly once, nothing else, and per type the same order.
 */
export async function ledger(revenue: pg.Pool, coaching: pg.Pool): Promise<Ledger> {
  const produced = (
    await revenue.query("SELECT event_id, event_type FROM dispatcher_event WHERE event_type = ANY($1) ORDER BY position", [COACHING_TYPES])
  ).rows;
  const stored = (await coaching.query("SELECT event_id, event_type FROM dispatcher_event ORDER BY position NULLS LAST, id")).rows;
  const applied = (await coaching.query("SELECT event_id FROM applied_log")).rows.map((r) => r.event_id as string);
  const producedIds = new Set(produced.map((r) => r.event_id as string));
  const storedIds = stored.map((r) => r.event_id as string);
  const orderViolations: string[] = [];
  for (const type of COACHING_TYPES) {
    const want = produced.filter((r) => r.event_type === type).map((r) => r.event_id as string);
    const got = stored.filter((r) => r.event_type === type).map((r) => r.event_id as string);
    const firstDiff = want.findIndex((e, i) => got[i] !== e);
    if (firstDiff >= 0 || got.length !== want.length)
      orderViolations.push(`${type}: first difference at ${firstDiff} (${want.length} produced, ${got.length} stored)`);
  }
  return {
    produced: producedIds.size,
    stored: storedIds.length,
    applied: applied.length,
    missing: [...producedIds].filter((e) => !storedIds.includes(e)).slice(0, 5),
    extra: storedIds.filter((e) => !producedIds.has(e)).slice(0, 5),
    storedTwice: storedIds.length - new Set(storedIds).size,
    appliedTwice: applied.length - new Set(applied).size,
    orderViolations,
  };
}

/** Every produced event (`expected` of them, when given) stored once, applied once, nothing else, in order per type. */
export function expectExact(l: Ledger, expected?: number): void {
  const n = expected ?? l.produced;
  expect(l).toEqual({ produced: n, stored: n, applied: n, missing: [], extra: [], storedTwice: 0, appliedTwice: 0, orderViolations: [] });
}
