import type { Tables } from "../config/index.js";
import type { Database, Queryable } from "../database/index.js";
import { InvalidArgumentError } from "../errors/index.js";
import { assertKnownConsumer, dropConsumer, resetCursor, type DropConsumerResult, type ResetCursorResult } from "../status/index.js";

// Pauses the consumer's cursors (one type or all) that are not paused yet: the consumer loop of every
// replica reads nothing for a paused cursor. Waits for a batch in flight on a cursor (its row lock).
const pauseSql = (t: Tables) => `UPDATE ${t.cursor} SET paused_at = now(), paused_by = $3, updated_at = now()
  WHERE consumer = $1 AND ($2::text IS NULL OR event_type = $2) AND paused_at IS NULL RETURNING event_type`;
// Resumes them, and wakes the running consumers at once (the notification the event trigger sends; delivered at commit).
const resumeSql = (t: Tables) => `WITH resumed AS (
    UPDATE ${t.cursor} SET paused_at = NULL, paused_by = NULL, updated_at = now()
    WHERE consumer = $1 AND ($2::text IS NULL OR event_type = $2) AND paused_at IS NOT NULL RETURNING event_type
  )
  SELECT event_type FROM resumed CROSS JOIN LATERAL pg_notify('dispatcher_event_inserted', resumed.event_type) ORDER BY event_type`;
const hasCursorSql = (t: Tables) => `SELECT EXISTS (SELECT 1 FROM ${t.cursor} WHERE consumer = $1 AND event_type = $2) AS found`;

export interface PauseInput {
  consumer: string;
  by: string;
  eventType?: string;
}

async function assertCursor(q: Queryable, tables: Tables, consumer: string, eventType: string | undefined): Promise<void> {
  if (eventType === undefined) return;
  const [row] = await q.query<{ found: boolean }>(hasCursorSql(tables), [consumer, eventType]);
  if (!row?.found) throw new InvalidArgumentError(`consumer "${consumer}" has no cursor for ${eventType}`, "eventType");
}

/**
 * Pauses one type of the consumer, or all of them; answers the types this call paused (one
 * already paused keeps its pausedAt and pausedBy).
 */
export async function pause(q: Queryable, tables: Tables, input: PauseInput): Promise<{ consumer: string; paused: string[] }> {
  await assertKnownConsumer(q, tables, input.consumer);
  await assertCursor(q, tables, input.consumer, input.eventType);
  const rows = await q.query<{ event_type: string }>(pauseSql(tables), [input.consumer, input.eventType ?? null, input.by]);
  return { consumer: input.consumer, paused: rows.map((r) => r.event_type).sort() };
}

/** Resumes one type of the consumer, or all of them; answers the types this call resumed. */
export async function resume(q: Queryable, tables: Tables, input: PauseInput): Promise<{ consumer: string; resumed: string[] }> {
  await assertKnownConsumer(q, tables, input.consumer);
  await assertCursor(q, tables, input.consumer, input.eventType);
  const rows = await q.query<{ event_type: string }>(resumeSql(tables), [input.consumer, input.eventType ?? null]);
  return { consumer: input.consumer, resumed: rows.map((r) => r.event_type) };
}

/** resetCursor without reprocess: what the consumer already applied is skipped as a duplicate. */
export async function rewind(
  database: Database,
  tables: Tables,
  input: { consumer: string; to: string; eventType?: string; dryRun?: boolean },
): Promise<ResetCursorResult> {
  await assertKnownConsumer(database, tables, input.consumer);
  return resetCursor(database, tables, { consumer: input.consumer, to: input.to, eventType: input.eventType, dryRun: input.dryRun });
}

/** dropConsumer, once `confirm` repeats the name; it refuses (DispatcherStateError, 409) a consumer that runs. */
export async function drop(database: Database, tables: Tables, input: { consumer: string; confirm: string }): Promise<DropConsumerResult> {
  if (input.confirm !== input.consumer)
    throw new InvalidArgumentError(`confirm must be the consumer's name, "${input.consumer}", typed again`, "confirm");
  return dropConsumer(database, tables, { consumer: input.consumer });
}
