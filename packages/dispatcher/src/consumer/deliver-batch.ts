import type { Tables } from "../config/index.js";
import type { Database } from "../database/index.js";
import { tracing } from "../observability/index.js";
import { toEnvelope, type EventRow } from "./event-row.js";
import { commitHooks, runHandlers, type Handler } from "./run-handlers.js";

export type { Handler, HandlerContext } from "./run-handlers.js";

export type BatchOutcome =
  | { kind: "locked" }
  | { kind: "waiting"; retryAtMs: number }
  | { kind: "delivered"; rows: EventRow[]; delivered: EventRow[]; dedupHits: EventRow[]; handlerMs: number[]; entryLatencyMs: number[] }
  | { kind: "failed"; index: number; row: EventRow; error: unknown; attempt: number; cursorPosition: string };

// Locks this (consumer, event_type) cursor (skipping it if a replica holds it) and reads the
// next events past it in position order, each flagged when this consumer already has it.
// The limit is a validated integer written into the text, so the cached plan of this prepared
// statement is made for it (a generic plan with LIMIT $n would sort every row of the type).
const readBatchSql = (t: Tables, limit: number) => `WITH c AS (
    SELECT last_position, failed_attempts, retry_at, (retry_at IS NOT NULL AND retry_at > now()) AS waiting,
           set_config('synchronous_commit', $3, true) AS commit_mode -- this transaction only
    FROM ${t.cursor} WHERE consumer = $1 AND event_type = $2 FOR UPDATE SKIP LOCKED
  )
  SELECT c.last_position::text AS cursor_position, c.failed_attempts, c.waiting,
         (extract(epoch FROM c.retry_at) * 1000)::float8 AS retry_at_ms,
         e.position::text AS position, e.event_id, e.event_type, e.schema_version, e.tenant_id, e.producer,
         e.occurred_at, e.subject, e.actor, e.correlation_id, e.payload, e.trace_context, e.created_at, e.sequenced_at,
         coalesce(d.delivered, false) AS delivered
  FROM c
  LEFT JOIN LATERAL (
    SELECT * FROM ${t.event} ev
    WHERE ev.event_type = $2 AND ev.position > c.last_position AND NOT c.waiting
    ORDER BY ev.position LIMIT ${Math.trunc(limit)}
  ) e ON true
  -- One primary-key probe per event (a plain join or EXISTS may hash every dedup row of the consumer).
  LEFT JOIN LATERAL (
    SELECT true AS delivered FROM ${t.dedup} dd WHERE dd.consumer = $1 AND dd.event_id = e.event_id LIMIT 1
  ) d ON true
  ORDER BY e.position`;

// Dedup rows and the cursor advance in one statement, committed with the handlers' writes.
const commitBatchSql = (t: Tables) => `WITH dedup AS (
    INSERT INTO ${t.dedup} (consumer, event_id)
    SELECT $1, jsonb_array_elements_text($3::jsonb) ON CONFLICT DO NOTHING
  )
  UPDATE ${t.cursor} SET last_position = $4::bigint, last_delivered_at = now(), failed_attempts = 0,
    first_failed_at = NULL, retry_at = NULL, last_error = NULL, updated_at = now()
  WHERE consumer = $1 AND event_type = $2`;

interface ReadRow extends EventRow {
  cursor_position: string;
  failed_attempts: number;
  waiting: boolean;
  retry_at_ms: number | null;
  delivered: boolean;
}

class HandlerFailure {
  constructor(readonly outcome: Extract<BatchOutcome, { kind: "failed" }>) {}
}

export class BatchDeliverer {
  private readonly readSql = new Map<number, string>();
  private readonly commitSql: string;

  private readonly tables: Tables;

  constructor(
    private readonly database: Database,
    tables: Tables,
    private readonly consumer: string,
    private readonly handlerTimeoutMs: number,
    private readonly synchronousCommit: boolean,
  ) {
    this.tables = tables;
    this.commitSql = commitBatchSql(tables);
  }

  /**
   * One transaction: lock the cursor, read up to `limit` events, run the handlers (skipping
   * events this consumer already has), write dedup rows and advance the cursor. A handler
   * failure rolls the whole transaction back and is reported with its index.
   */
  async deliver(eventType: string, handlers: Handler[], limit: number): Promise<BatchOutcome> {
    try {
      return await this.database.transaction(
        async (q, tx) => {
          const rows = await q.query<ReadRow>(this.readSqlFor(limit), [this.consumer, eventType, this.synchronousCommit ? "on" : "off"]);
          const head = rows[0];
          if (!head) return { kind: "locked" } as const;
          if (head.waiting) return { kind: "waiting", retryAtMs: Number(head.retry_at_ms) } as const;
          const events = rows.filter((row) => row.position !== null);
          if (events.length === 0) return { kind: "delivered", rows: [], delivered: [], dedupHits: [], handlerMs: [], entryLatencyMs: [] } as const;
          const delivered: EventRow[] = [];
          const dedupHits: EventRow[] = [];
          const handlerMs: number[] = [];
          const entryLatencyMs: number[] = [];
          const hooks = commitHooks();
          for (const [index, row] of events.entries()) {
            if (row.delivered) {
              dedupHits.push(row);
              continue;
            }
            const attempt = index === 0 ? Number(head.failed_attempts) + 1 : 1;
            entryLatencyMs.push(Date.now() - new Date(row.created_at).getTime());
            const started = performance.now();
            try {
              const attributes = { "messaging.system": "sguild-dispatcher", "messaging.destination.name": eventType, "messaging.message.id": row.event_id, consumer: this.consumer, attempt };
              await tracing.inConsumerSpan(`${eventType} process`, row.trace_context, attributes, () =>
                runHandlers(handlers, toEnvelope(row), { tx, attempt, consumer: this.consumer, traceContext: row.trace_context ?? undefined, beforeCommit: hooks.register }, this.handlerTimeoutMs),
              );
            } catch (error) {
              throw new HandlerFailure({ kind: "failed", index, row, error, attempt, cursorPosition: head.cursor_position });
            }
            handlerMs.push(performance.now() - started);
            delivered.push(row);
          }
          try {
            await hooks.run();
          } catch (error) {
            // A batch-wide write failed: the whole transaction is retried from its first event.
            throw new HandlerFailure({ kind: "failed", index: 0, row: events[0]!, error, attempt: Number(head.failed_attempts) + 1, cursorPosition: head.cursor_position });
          }
          const last = events[events.length - 1]!;
          await q.query(this.commitSql, [this.consumer, eventType, JSON.stringify(delivered.map((r) => r.event_id)), last.position]);
          return { kind: "delivered", rows: events, delivered, dedupHits, handlerMs, entryLatencyMs } as const;
        },
        { timeoutMs: this.handlerTimeoutMs * limit + 30_000 },
      );
    } catch (error) {
      if (error instanceof HandlerFailure) return error.outcome;
      throw error;
    }
  }

  private readSqlFor(limit: number): string {
    let sql = this.readSql.get(limit);
    if (!sql) {
      sql = readBatchSql(this.tables, limit);
      this.readSql.set(limit, sql);
    }
    return sql;
  }
}
