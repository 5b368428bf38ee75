import { CLEAR_RETRY_STATE, type Tables } from "../config/index.js";
import type { Database } from "../database/index.js";
import { attemptDelivery, type AttemptSettings } from "./attempt.js";
import { toEnvelope, type EventRow } from "./event-row.js";
import type { StoredHandler } from "./run-handlers.js";
import { DEFAULTS } from "../config/defaults.js";

export type { Handler, HandlerContext, StoredHandler } from "./run-handlers.js";

export type BatchOutcome =
  | { kind: "locked" }
  /** An operator paused this (consumer, event_type): nothing is delivered until it is resumed. */
  | { kind: "paused" }
  | { kind: "waiting"; retryAtMs: number }
  | { kind: "delivered"; rows: EventRow[]; delivered: EventRow[]; dedupHits: EventRow[]; handlerMs: number[]; entryLatencyMs: number[] }
  | {
      kind: "failed";
      /** "handler": the handler of `row` failed. "commit": every handler returned, the transaction did not commit. */
      stage: "handler" | "commit";
      index: number;
      row: EventRow;
      /** Events of the batch whose handlers ran (not dedup hits). */
      handledCount: number;
      /** Position of the batch's last event. */
      lastPosition: string;
      error: unknown;
      attempt: number;
      /**
       * Position of the event right before `row` (the cursor itself when `row` is the first): the
       * cursor a failure of `row` is recorded against, once the events before it are committed.
       */
      previousPosition: string;
    };

// Locks this (consumer, event_type) cursor (skipping it if a replica holds it) and reads the
// next events past it in position order, each flagged when this consumer already has it.
const readBatchSql = (t: Tables) => `WITH c AS (
    SELECT last_position, failed_attempts, retry_at, (retry_at IS NOT NULL AND retry_at > now()) AS waiting,
           paused_at IS NOT NULL AS paused,
           set_config('synchronous_commit', $3, true) AS commit_mode, -- this transaction only
           pg_backend_pid() AS backend_pid
    FROM ${t.cursor} WHERE consumer = $1 AND event_type = $2 FOR UPDATE SKIP LOCKED
  ), e AS (
    -- In position order by the index, whatever the statistics say (see the function's migration).
    SELECT ev.* FROM c CROSS JOIN LATERAL ${t.eventsAfter}($2, c.last_position, CASE WHEN c.waiting OR c.paused THEN 0 ELSE $4::int END) ev
  ), claimed AS (
    -- Claim before handling: of two transactions delivering one event to one consumer (a replay
    -- racing a rewound cursor), the second waits here for the first and finds the claim taken.
    INSERT INTO ${t.dedup} (consumer, event_id) SELECT $1, e.event_id FROM e ON CONFLICT DO NOTHING RETURNING event_id
  ), advanced AS (
    -- The cursor advance, in this same statement: it commits with the handlers' writes and the
    -- claims, or rolls back with them (a failed attempt), so no second round trip is needed.
    UPDATE ${t.cursor} SET last_position = (SELECT max(position) FROM e), last_delivered_at = now(), ${CLEAR_RETRY_STATE}
    WHERE consumer = $1 AND event_type = $2 AND EXISTS (SELECT 1 FROM e)
  )
  SELECT c.last_position::text AS cursor_position, c.failed_attempts, c.waiting, c.paused, c.backend_pid,
         (extract(epoch FROM c.retry_at - now()) * 1000)::float8 AS retry_in_ms, -- on the database's clock
         e.position::text AS position, e.event_id, e.event_type, e.schema_version, e.tenant_id, e.producer,
         -- Times as whole epoch milliseconds (the columns keep milliseconds): a number parses far faster
         -- than timestamp text. int8, not float8: its text is exact whatever extra_float_digits says.
         round(date_part('epoch', e.occurred_at) * 1000)::int8 AS occurred_at, e.subject, e.actor, e.correlation_id, e.payload,
         e.trace_context, round(date_part('epoch', e.created_at) * 1000)::int8 AS created_at,
         round(date_part('epoch', e.sequenced_at) * 1000)::int8 AS sequenced_at,
         (e.event_id IS NOT NULL AND cl.event_id IS NULL) AS delivered
  FROM c
  LEFT JOIN e ON true
  LEFT JOIN claimed cl ON cl.event_id = e.event_id
  ORDER BY e.position`;

interface ReadRow extends EventRow {
  cursor_position: string;
  failed_attempts: number;
  waiting: boolean;
  paused: boolean;
  backend_pid: number;
  retry_in_ms: number | null;
  delivered: boolean;
}

type Delivered = Extract<BatchOutcome, { kind: "delivered" }>;

export class BatchDeliverer {
  private readonly readSql: string;
  private readonly settings: AttemptSettings;

  constructor(
    private readonly database: Database,
    private readonly tables: Tables,
    private readonly consumer: string,
    private readonly handlerTimeoutMs: number,
    private readonly synchronousCommit: boolean,
  ) {
    this.settings = { consumer, handlerTimeoutMs, transactionTimeoutMs: 0 };
    this.readSql = readBatchSql(tables);
  }

  /**
   * One transaction: lock the cursor, read up to `limit` events, claim their dedup rows and advance
   * the cursor past them (one statement), run the handlers (skipping events this consumer already
   * has), commit. A failed
   * attempt rolls the whole transaction back and is reported with the index it failed at
   * (`stage: "commit"` when every handler returned and the transaction still did not commit).
   */
  async deliver(eventType: string, handlers: StoredHandler[], limit: number): Promise<BatchOutcome> {
    let head: ReadRow | undefined;
    let events: ReadRow[] = [];
    const settings = { ...this.settings, transactionTimeoutMs: this.handlerTimeoutMs * limit + DEFAULTS.transactions.deliveryMarginMs };
    const result = await attemptDelivery(this.database, settings, async (attempt): Promise<BatchOutcome> => {
      const rows = await attempt.q.query<ReadRow>(this.readSql, [this.consumer, eventType, this.synchronousCommit ? "on" : "off", limit]);
      head = rows[0];
      if (!head) return { kind: "locked" };
      if (head.paused) return { kind: "paused" };
      if (head.waiting) return { kind: "waiting", retryAtMs: Date.now() + Number(head.retry_in_ms) };
      attempt.session.pid ??= Number(head.backend_pid);
      events = rows.filter((row) => row.position !== null);
      // int8 arrives as text from pg and as a BigInt from Prisma: numbers from here on.
      for (const row of events) {
        row.occurred_at = Number(row.occurred_at);
        row.created_at = Number(row.created_at);
        if (row.sequenced_at !== null) row.sequenced_at = Number(row.sequenced_at);
      }
      const outcome: Delivered = { kind: "delivered", rows: events, delivered: [], dedupHits: [], handlerMs: [], entryLatencyMs: [] };
      if (events.length === 0) return outcome;
      for (const [index, row] of events.entries()) {
        if (row.delivered) {
          outcome.dedupHits.push(row);
          continue;
        }
        outcome.entryLatencyMs.push(Date.now() - new Date(row.created_at).getTime());
        const started = performance.now();
        await attempt.handle(index, handlers, toEnvelope(row), { attempt: this.attemptOf(index, head), traceContext: row.trace_context });
        outcome.handlerMs.push(performance.now() - started);
        outcome.delivered.push(row);
      }
      await attempt.beforeCommit();
      return outcome;
    });
    if (result.ok) return result.value;
    const failure = result.failure;
    // A commit failure is blamed on the first handled event; with several handled, the loop narrows it down.
    const index =
      failure.stage === "handler"
        ? failure.index
        : Math.max(
            events.findIndex((row) => !row.delivered),
            0,
          );
    return {
      kind: "failed",
      stage: failure.stage,
      index,
      row: events[index]!,
      handledCount: events.filter((row) => !row.delivered).length,
      lastPosition: events[events.length - 1]!.position,
      error: failure.error,
      attempt: this.attemptOf(index, head!),
      previousPosition: index === 0 ? head!.cursor_position : events[index - 1]!.position,
    };
  }

  /** The event right after the cursor carries the cursor's failure count; the ones after it are first attempts. */
  private attemptOf(index: number, head: ReadRow): number {
    return index === 0 ? Number(head.failed_attempts) + 1 : 1;
  }
}
