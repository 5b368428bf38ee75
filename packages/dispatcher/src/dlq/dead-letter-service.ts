import type { Tables } from "../config/index.js";
import { attemptDelivery, failureFingerprint, type StoredHandler } from "../consumer/index.js";
import type { Database } from "../database/index.js";
import { DeadLetterAlreadyResolvedError, DeadLetterNotFoundError, InvalidArgumentError, NoHandlerError } from "../errors/index.js";
import {
  assertDeadLetterId,
  assertOperator,
  DEAD_LETTER_COLUMNS,
  toDeadLetter,
  type DeadLetter,
  type DeadLetterRow,
} from "./dead-letter.js";
import { DEFAULTS } from "../config/defaults.js";

export interface ListDeadLettersOptions {
  /** Include resolved ones. Default false. */
  includeResolved?: boolean;
  /** At most this many, newest first. Default 50, at most 1000. */
  limit?: number;
}

export interface DeadLetterGroup {
  consumer: string;
  fingerprint: string;
  errorClass: string;
  /** The newest message of the group. */
  sampleMessage: string;
  eventTypes: string[];
  count: number;
  firstFailedAt: Date;
  lastFailedAt: Date;
}

/** The consumer a process runs, which alone replays that consumer's dead letters. */
export interface ReplayOwner {
  consumer: string;
  handlerTimeoutMs: number;
  handlersFor(eventType: string): readonly StoredHandler[] | undefined;
}

export interface ReplayResult {
  /**
   * replayed: handled and resolved. already_delivered: the consumer had it; resolved without handling.
   * failed: the handler failed again; the letter stays active with the new error.
   * requested: the letter belongs to another consumer than the one this process runs (or none runs
   * here); it is marked for its owner, whose loop replays it on its next cycle.
   */
  outcome: "replayed" | "already_delivered" | "failed" | "requested";
  deadLetter: DeadLetter;
  error?: unknown;
}

/** The resolution notes a replay leaves: handled, or found already delivered. */
export const REPLAY_NOTES = { replayed: "replayed", alreadyDelivered: "replay: the consumer already had this event" } as const;

const listSql = (t: Tables) => `SELECT ${DEAD_LETTER_COLUMNS} FROM ${t.deadLetter}
  WHERE ($1::text IS NULL OR consumer = $1) AND ($2::boolean OR resolved_at IS NULL) ORDER BY created_at DESC, id DESC LIMIT $3::int`;
const groupsSql = (t: Tables) => `SELECT consumer, fingerprint, min(error_class) AS error_class,
    (array_agg(error_message ORDER BY last_failed_at DESC))[1] AS sample_message,
    array_agg(DISTINCT event_type ORDER BY event_type) AS event_types, count(*)::int AS count,
    min(first_failed_at) AS first_failed_at, max(last_failed_at) AS last_failed_at
  FROM ${t.deadLetter} WHERE ($1::text IS NULL OR consumer = $1) AND resolved_at IS NULL
  GROUP BY consumer, fingerprint ORDER BY count(*) DESC, consumer, fingerprint`;
const getSql = (t: Tables) => `SELECT ${DEAD_LETTER_COLUMNS} FROM ${t.deadLetter} WHERE id = $1`;
const resolveSql = (t: Tables) => `UPDATE ${t.deadLetter} SET resolved_at = now(), resolved_by = $2, resolution_note = $3,
    replay_requested_at = NULL, replay_requested_by = NULL
  WHERE id = $1 AND resolved_at IS NULL RETURNING ${DEAD_LETTER_COLUMNS}`;
// Claimed before handling, as batch delivery does: a delivery racing this replay waits here, then finds it taken.
const claimSql = (t: Tables) => `INSERT INTO ${t.dedup} (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING
  RETURNING pg_backend_pid() AS backend_pid`;
// A replay request, as one value to compare (exact: the column keeps milliseconds).
const REQUEST_TOKEN = "(extract(epoch FROM replay_requested_at) * 1000000)::int8::text";
// The letter locked for a replay, with the request it carries now.
const lockForReplaySql = (t: Tables) => `SELECT ${DEAD_LETTER_COLUMNS}, ${REQUEST_TOKEN} AS request_token
  FROM ${t.deadLetter} WHERE id = $1 FOR UPDATE`;
// After the replay's transaction rolled back: counts the attempt on a letter still active, and clears
// only the request it performed ($6), not one an operator made meanwhile (its owner performs that one).
const failedReplaySql = (t: Tables) => `UPDATE ${t.deadLetter} SET error_class = $2, error_message = $3, error_stack = $4, fingerprint = $5,
    attempts = attempts + 1, last_failed_at = now(),
    replay_requested_at = CASE WHEN ${REQUEST_TOKEN} IS NOT DISTINCT FROM $6 THEN NULL ELSE replay_requested_at END,
    replay_requested_by = CASE WHEN ${REQUEST_TOKEN} IS NOT DISTINCT FROM $6 THEN NULL ELSE replay_requested_by END
  WHERE id = $1 AND resolved_at IS NULL RETURNING ${DEAD_LETTER_COLUMNS}`;
const requestReplaySql = (t: Tables) => `UPDATE ${t.deadLetter} SET replay_requested_at = now(), replay_requested_by = $2
  WHERE id = $1 AND resolved_at IS NULL RETURNING ${DEAD_LETTER_COLUMNS}`;
const requestGroupSql = (t: Tables) => `UPDATE ${t.deadLetter} SET replay_requested_at = now(), replay_requested_by = $2
  WHERE fingerprint = $1 AND resolved_at IS NULL AND ($3::text IS NULL OR consumer = $3) RETURNING ${DEAD_LETTER_COLUMNS}`;
const requestedSql = (t: Tables) => `SELECT id, event_type, replay_requested_by, ${REQUEST_TOKEN} AS request_token FROM ${t.deadLetter}
  WHERE consumer = $1 AND replay_requested_at IS NOT NULL AND resolved_at IS NULL
  ORDER BY replay_requested_at LIMIT ${DEFAULTS.deadLetters.requestedPerCheck}`;
const activeIdsSql = (t: Tables) => `SELECT id FROM ${t.deadLetter}
  WHERE consumer = $1 AND resolved_at IS NULL AND ($2::text IS NULL OR event_type = $2) ORDER BY created_at LIMIT $3::int`;

const statementsFor = (t: Tables) => ({
  list: listSql(t),
  groups: groupsSql(t),
  get: getSql(t),
  lockForReplay: lockForReplaySql(t),
  resolve: resolveSql(t),
  requestReplay: requestReplaySql(t),
  requestGroup: requestGroupSql(t),
  claim: claimSql(t),
  failedReplay: failedReplaySql(t),
  activeIds: activeIdsSql(t),
  requested: requestedSql(t),
});

/** List, read, resolve and replay one consumer's dead letters. */
export class DeadLetterService {
  /** Every statement of the service, rendered once for its schema. */
  private readonly sql: ReturnType<typeof statementsFor>;

  constructor(
    private readonly database: Database,
    tables: Tables,
    /** The consumer this process runs, read at each replay; undefined when none runs here. */
    private readonly owner: () => ReplayOwner | undefined = () => undefined,
  ) {
    this.sql = statementsFor(tables);
  }

  async list(consumer: string, options: ListDeadLettersOptions = {}): Promise<DeadLetter[]> {
    assertOperator(consumer, "consumer");
    return this.listOf(consumer, options);
  }

  /** Every consumer's dead letters, newest first. */
  async listAll(options: ListDeadLettersOptions = {}): Promise<DeadLetter[]> {
    return this.listOf(null, options);
  }

  private async listOf(consumer: string | null, options: ListDeadLettersOptions): Promise<DeadLetter[]> {
    const { listLimit, maxLimit } = DEFAULTS.deadLetters;
    const limit = options.limit ?? listLimit;
    if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit)
      throw new InvalidArgumentError(`limit must be an integer from 1 to ${maxLimit} (got ${limit})`, "limit");
    const rows = await this.database.query<DeadLetterRow>(this.sql.list, [consumer, options.includeResolved ?? false, limit]);
    return rows.map(toDeadLetter);
  }

  /** Active dead letters grouped by consumer and failure fingerprint, largest group first; every consumer's when none is named. */
  async groups(consumer?: string): Promise<DeadLetterGroup[]> {
    if (consumer !== undefined) assertOperator(consumer, "consumer");
    const rows = await this.database.query<Record<string, unknown>>(this.sql.groups, [consumer ?? null]);
    return rows.map((r) => ({
      consumer: String(r["consumer"]),
      fingerprint: String(r["fingerprint"]),
      errorClass: String(r["error_class"]),
      sampleMessage: String(r["sample_message"]),
      eventTypes: r["event_types"] as string[],
      count: Number(r["count"]),
      firstFailedAt: new Date(r["first_failed_at"] as string),
      lastFailedAt: new Date(r["last_failed_at"] as string),
    }));
  }

  async get(id: string): Promise<DeadLetter> {
    assertDeadLetterId(id);
    const [row] = await this.database.query<DeadLetterRow>(this.sql.get, [id]);
    if (!row) throw new DeadLetterNotFoundError(id);
    return toDeadLetter(row);
  }

  /** One-shot: a second resolve throws DeadLetterAlreadyResolvedError. */
  async resolve(id: string, options: { resolvedBy: string; resolutionNote?: string }): Promise<DeadLetter> {
    assertDeadLetterId(id);
    assertOperator(options?.resolvedBy, "resolvedBy");
    return this.updateActive(this.sql.resolve, [id, options.resolvedBy, options.resolutionNote ?? null]);
  }

  /** Asks the running consumer (which has the handler) to replay it on its next cycle. */
  async requestReplay(id: string, options: { requestedBy: string }): Promise<DeadLetter> {
    assertDeadLetterId(id);
    assertOperator(options?.requestedBy, "requestedBy");
    return this.updateActive(this.sql.requestReplay, [id, options.requestedBy]);
  }

  /**
   * Asks the owning consumers to replay every active dead letter of one failure fingerprint (of one
   * consumer when named); returns the letters marked, none when the group has no active letter.
   */
  async requestGroupReplay(fingerprint: string, options: { requestedBy: string; consumer?: string }): Promise<DeadLetter[]> {
    if (typeof fingerprint !== "string" || !/^[0-9a-f]{16}$/.test(fingerprint)) {
      throw new InvalidArgumentError(
        `a fingerprint is 16 hex digits, as dlq list --group shows it (got ${JSON.stringify(fingerprint)})`,
        "fingerprint",
      );
    }
    assertOperator(options?.requestedBy, "requestedBy");
    if (options.consumer !== undefined) assertOperator(options.consumer, "consumer");
    const rows = await this.database.query<DeadLetterRow>(this.sql.requestGroup, [
      fingerprint,
      options.requestedBy,
      options.consumer ?? null,
    ]);
    return rows.map(toDeadLetter).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
  }

  /** Runs an UPDATE that only touches an active dead letter; no row means unknown (404) or resolved (409). */
  private async updateActive(sql: string, values: [string, ...unknown[]]): Promise<DeadLetter> {
    const [row] = await this.database.query<DeadLetterRow>(sql, values);
    if (row) return toDeadLetter(row);
    const existing = await this.get(values[0]);
    throw new DeadLetterAlreadyResolvedError(values[0], existing.resolvedAt!, existing.resolvedBy);
  }

  /**
   * Hands the event to this process's handler again, in a delivery transaction like any other
   * (dedup claimed first, handler timeout, ctx.tx closed after). Only the consumer this process
   * runs replays its own letters: any other letter is requested of its owner (outcome "requested").
   * Success resolves the letter with a replay note; a failure leaves it active with the new error.
   */
  async replay(id: string, options: { replayedBy: string }): Promise<ReplayResult> {
    assertDeadLetterId(id);
    assertOperator(options?.replayedBy, "replayedBy");
    const letter = await this.get(id);
    if (letter.resolvedAt) throw new DeadLetterAlreadyResolvedError(id, letter.resolvedAt, letter.resolvedBy);
    const owner = this.owner();
    if (!owner || owner.consumer !== letter.consumer) {
      return { outcome: "requested", deadLetter: await this.requestReplay(id, { requestedBy: options.replayedBy }) };
    }
    const handlers = owner.handlersFor(letter.eventType);
    if (!handlers?.length) throw new NoHandlerError(letter.eventType);
    return (await this.perform(id, options.replayedBy, owner, handlers))!;
  }

  /**
   * One replay transaction: the letter locked, the dedup row claimed, the handlers, the resolution.
   * With `request`, only if the letter still carries that request once locked (a replica may have
   * performed it meanwhile): else undefined, and no handler runs.
   */
  private async perform(
    id: string,
    replayedBy: string,
    owner: ReplayOwner,
    handlers: readonly StoredHandler[],
    request?: string,
  ): Promise<ReplayResult | undefined> {
    const settings = {
      consumer: owner.consumer,
      handlerTimeoutMs: owner.handlerTimeoutMs,
      transactionTimeoutMs: owner.handlerTimeoutMs + DEFAULTS.transactions.deliveryMarginMs,
    };
    let performed: string | null = null;
    const result = await attemptDelivery(this.database, settings, async (attempt) => {
      const [row] = await attempt.q.query<DeadLetterRow & { request_token: string | null }>(this.sql.lockForReplay, [id]);
      if (request !== undefined && (!row || row.resolved_at || row.request_token !== request)) return undefined;
      if (!row) throw new DeadLetterNotFoundError(id);
      if (row.resolved_at) throw new DeadLetterAlreadyResolvedError(id, new Date(row.resolved_at), row.resolved_by);
      performed = row.request_token;
      const [claim] = await attempt.q.query<{ backend_pid: number }>(this.sql.claim, [row.consumer, row.event_id]);
      if (claim) {
        attempt.session.pid ??= Number(claim.backend_pid);
        await attempt.handle(0, handlers, row.envelope, { attempt: Number(row.attempts) + 1 });
        await attempt.beforeCommit();
      }
      const note = claim ? REPLAY_NOTES.replayed : REPLAY_NOTES.alreadyDelivered;
      const [resolved] = await attempt.q.query<DeadLetterRow>(this.sql.resolve, [id, replayedBy, note]);
      return { outcome: claim ? "replayed" : "already_delivered", deadLetter: toDeadLetter(resolved!) } as const;
    });
    if (result.ok) return result.value;
    const failure = failureFingerprint(result.failure.error);
    const [row] = await this.database.query<DeadLetterRow>(this.sql.failedReplay, [
      id,
      failure.errorClass,
      failure.message,
      failure.stack,
      failure.fingerprint,
      performed,
    ]);
    if (row) return { outcome: "failed", deadLetter: toDeadLetter(row), error: result.failure.error };
    // No row: resolved meanwhile (by an operator, or a replica's replay), or deleted (prune, cursor drop).
    const [now] = await this.database.query<DeadLetterRow>(this.sql.get, [id]);
    if (now) return { outcome: "failed", deadLetter: toDeadLetter(now), error: result.failure.error };
    if (request !== undefined) return undefined; // a requested replay of a letter gone meanwhile: nothing left to report
    throw new DeadLetterNotFoundError(id);
  }

  /** Replays a consumer's active dead letters (optionally of one event type), oldest first. */
  async replayAll(consumer: string, options: { replayedBy: string; eventType?: string; limit?: number }): Promise<ReplayResult[]> {
    assertOperator(consumer, "consumer");
    const ids = await this.database.query<{ id: string }>(this.sql.activeIds, [
      consumer,
      options.eventType ?? null,
      options.limit ?? DEFAULTS.deadLetters.maxLimit,
    ]);
    const results: ReplayResult[] = [];
    for (const { id } of ids) results.push(await this.replay(id, { replayedBy: options.replayedBy }));
    return results;
  }

  /** Replays what operators requested for this consumer (called by its consumer loop). */
  async replayRequested(consumer: string): Promise<ReplayResult[]> {
    const requested = await this.database.query<{
      id: string;
      event_type: string;
      replay_requested_by: string | null;
      request_token: string;
    }>(this.sql.requested, [consumer]);
    const results: ReplayResult[] = [];
    for (const letter of requested) {
      const owner = this.owner();
      const handlers = owner?.consumer === consumer ? owner.handlersFor(letter.event_type) : undefined;
      if (!owner || !handlers?.length) continue;
      // Each request is performed once, by one replica: one that finds it gone once locked skips it.
      const result = await this.perform(letter.id, letter.replay_requested_by ?? "operator", owner, handlers, letter.request_token);
      if (result) results.push(result);
    }
    return results;
  }
}
