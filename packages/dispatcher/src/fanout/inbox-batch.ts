import type { Queryable } from "../database/index.js";
import { EventIdConflictError } from "../errors/index.js";
import type { StoredEvent } from "../producer/index.js";
import { checkEvent, refusal, type EventCheckContext, type Refusal } from "./inbox-checks.js";
import type { InboxStore } from "./inbox-store.js";

/**
 * The answer for one event of a batch, at its index in the request: 202 (stored, or already
 * stored with the same content) or its refusal.
 */
export type BatchEventResult = { id: string | null; status: 202 } | { id: string | null; status: number; error: Omit<Refusal, "status"> };

/** What a batched request gets: a refusal of the whole request (nothing stored), or one result per event, in order (HTTP 207). */
export type BatchAnswer = { ok: false; refusal: Refusal } | { ok: true; results: BatchEventResult[] };

const idOf = (element: unknown): string | null => {
  const id = typeof element === "object" && element !== null ? (element as Record<string, unknown>)["id"] : undefined;
  return typeof id === "string" ? id : null;
};

const refused = (id: string | null, { status, ...error }: Refusal): BatchEventResult => ({ id, status, error });

/**
 * A batched request whose signature has been verified: a JSON array of structured CloudEvents, at most
 * `maxBatchEvents`. Each event gets the checks of a single event, in the same order (checkEvent); the
 * accepted ones are stored in one statement, in their order, under the rules of a single event (the
 * same event again is accepted, other content under a stored or earlier id is 409). A refused event
 * does not stop the others. A storage failure throws: nothing is stored and the request is a 500.
 */
export async function answerBatch(
  body: string,
  context: EventCheckContext & { maxBatchEvents: number },
  store: InboxStore,
  q: Queryable,
): Promise<BatchAnswer> {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (cause) {
    return {
      ok: false,
      refusal: refusal(400, "INVALID_CLOUDEVENT", `not a CloudEvents batch: ${String((cause as Error)?.message).slice(0, 200)}`),
    };
  }
  if (!Array.isArray(raw))
    return {
      ok: false,
      refusal: refusal(400, "INVALID_CLOUDEVENT", "not a CloudEvents batch: the body must be a JSON array of CloudEvents", "body"),
    };
  if (raw.length === 0)
    return { ok: false, refusal: refusal(400, "INVALID_CLOUDEVENT", "not a CloudEvents batch: the array is empty", "body") };
  if (raw.length > context.maxBatchEvents) {
    return {
      ok: false,
      refusal: refusal(413, "BATCH_TOO_LARGE", `a batch holds at most ${context.maxBatchEvents} events (got ${raw.length})`),
    };
  }
  const results: BatchEventResult[] = new Array(raw.length);
  const accepted: Array<{ index: number; event: StoredEvent }> = [];
  raw.forEach((element: unknown, index) => {
    const checked = checkEvent(element, context);
    if (checked.ok) accepted.push({ index, event: checked.event });
    else results[index] = refused(idOf(element), checked.refusal);
  });
  const outcomes = await store.storeMany(
    q,
    accepted.map((a) => a.event),
  );
  accepted.forEach(({ index, event }, n) => {
    const id = event.envelope.event_id;
    if (outcomes[n] !== "conflict") results[index] = { id, status: 202 };
    else results[index] = refused(id, refusal(409, "EVENT_ID_CONFLICT", new EventIdConflictError(id).message));
  });
  return { ok: true, results };
}
