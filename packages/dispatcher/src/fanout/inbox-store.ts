import type { Registry } from "@sguild/contracts";
import type { Tables } from "../config/index.js";
import type { Queryable } from "../database/index.js";
import { EventIdConflictError } from "../errors/index.js";
import { EventWriter, envelopeValues, type StoredEvent } from "../producer/index.js";
import { eventRowsJson, insertEventsSql, sameContentManySql } from "./event-rows.js";

// What makes two sends "the same event": every stored column but the row id and the trace context
// (a relay re-sending an event may carry another trace). jsonb and timestamptz compare by value.
const sameContentSql = (
  t: Tables,
) => `SELECT (event_type, schema_version, tenant_id, producer, occurred_at, subject, actor, correlation_id, payload)
  IS NOT DISTINCT FROM ($2::text, $3::int, $4::text, $5::text, $6::timestamptz, $7::text, $8::text, $9::text, $10::jsonb) AS same
  FROM ${t.event} WHERE event_id = $1`;

/** What became of one event of a batch: stored now, the same event already stored, or other content under its id. */
export type StoreOutcome = "stored" | "duplicate" | "conflict";

/**
 * Stores an inbox event once. The insert skips an event_id already stored; the stored row is then
 * compared with what arrived: the same content is the idempotent re-send, other content is an
 * EventIdConflictError and the stored row is left as it was.
 */
export class InboxStore {
  private readonly writer: EventWriter;
  private readonly sameContent: string;
  private readonly insertMany: string;
  private readonly sameContentMany: string;

  /** The registry lets the writer refuse payload dates PostgreSQL cannot store before its INSERT. */
  constructor(tables: Tables, registry: Registry) {
    this.writer = new EventWriter(tables, { idempotent: true, registry });
    this.sameContent = sameContentSql(tables);
    this.insertMany = insertEventsSql(tables);
    this.sameContentMany = sameContentManySql(tables);
  }

  async store(q: Queryable, event: StoredEvent): Promise<void> {
    await this.writer.insert(q, [event]);
    const [row] = await q.query<{ same: boolean }>(this.sameContent, envelopeValues(event.envelope));
    if (row && row.same !== true) throw new EventIdConflictError(event.envelope.event_id);
  }

  /**
   * Stores checked events (assertStorable passed) in one INSERT, in their order, and says per event
   * what became of it under the rules of `store`: the first of an event_id the insert took is
   * "stored"; any other is compared with the stored row ("duplicate" or "conflict"), one more round
   * trip when there is any. A failure stores nothing (one statement).
   */
  async storeMany(q: Queryable, events: readonly StoredEvent[]): Promise<StoreOutcome[]> {
    if (events.length === 0) return [];
    const inserted = new Set((await q.query<{ event_id: string }>(this.insertMany, [eventRowsJson(events)])).map((r) => r.event_id));
    const outcomes: StoreOutcome[] = events.map(({ envelope }) => (inserted.delete(envelope.event_id) ? "stored" : "duplicate"));
    const skipped = events.flatMap((event, n) => (outcomes[n] === "duplicate" ? [{ ...event, n }] : []));
    if (skipped.length > 0) {
      for (const row of await q.query<{ n: number; same: boolean }>(this.sameContentMany, [eventRowsJson(skipped)])) {
        if (row.same !== true) outcomes[row.n] = "conflict";
      }
    }
    return outcomes;
  }
}
