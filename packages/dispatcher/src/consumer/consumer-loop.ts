import type { ResolvedConfig, ResolvedConsumerOptions, Tables } from "../config/index.js";
import { metrics } from "../observability/index.js";
import { consumerStatus } from "../status/index.js";
import type { EventEnvelope } from "../envelope/index.js";
import { SchemaOutdatedError } from "../errors/index.js";
import { BatchDeliverer, type BatchOutcome, type StoredHandler } from "./deliver-batch.js";
import { toEnvelope } from "./event-row.js";
import { NOTIFY_ALL_TYPES, NOTIFY_CHANNEL, NotificationListener } from "./listener.js";
import { Heartbeat } from "./heartbeat.js";
import { FailureRecorder } from "./record-failure.js";
import { Wakeup } from "./wakeup.js";
import { DEFAULTS } from "../config/defaults.js";

const SEQUENCE_BATCH = DEFAULTS.sequencer.batch;
const SEQUENCE_INLINE = DEFAULTS.sequencer.inline;
const REPLAY_CHECK_MS = DEFAULTS.deadLetters.requestCheckIntervalMs;
const sequenceSql = (fn: string) => `SELECT ${fn}($1::int) AS numbered`;
// The same, for a chunk numbered in the background: when it numbered anything it also notifies
// "*" (every type), at its commit, so every listening consumer, in every process, looks again.
// Without it, another process learned of a background chunk only at its next poll.
const sequenceAndNotifySql = (fn: string) => `SELECT n AS numbered FROM ${fn}($1::int) AS n
  CROSS JOIN LATERAL (SELECT pg_notify('${NOTIFY_CHANNEL}', '${NOTIFY_ALL_TYPES}') WHERE n > 0) AS notified`;
// The subscribed types with an event past the cursor and no retry waiting for later (one index probe each).
// The types with events past their cursor: due now, or (retry_in_ms) once their retry delay is over,
// counted from now on the database's clock so that a skew between the two clocks does not matter.
const pendingSql = (t: Tables) => `SELECT c.event_type,
    CASE WHEN c.retry_at > now() THEN (extract(epoch FROM c.retry_at - now()) * 1000)::float8 END AS retry_in_ms
  FROM ${t.cursor} c
  WHERE c.consumer = $1 AND c.event_type = ANY($2::text[]) AND c.paused_at IS NULL
    AND EXISTS (SELECT 1 FROM ${t.eventsAfter}(c.event_type, c.last_position, 1))`;
// Creates the missing cursors only (an existing one is never moved): at 0 for "earliest" (every
// stored event of the type is past it), at the type's highest position for "now"; the choice and
// the position are kept for status. Returns the new ones.
const ensureCursorsSql = (t: Tables) => `INSERT INTO ${t.cursor} (consumer, event_type, last_position, start_from, start_position)
  SELECT $1, start.event_type, start.position, $3, start.position FROM (
    SELECT types.event_type, CASE WHEN $3 = 'now'
      THEN coalesce((SELECT max(e.position) FROM ${t.event} e WHERE e.event_type = types.event_type), 0) ELSE 0 END AS position
    FROM jsonb_array_elements_text($2::jsonb) AS types(event_type)
  ) start
  ON CONFLICT DO NOTHING RETURNING event_type, last_position::text AS position`;
// What the newest migrations added that this loop's SQL needs, so an outdated database is one clear error at start.
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
const schemaCheckSql = (
  t: Tables,
) => `SELECT to_regprocedure(${literal(`${t.eventsAfter}(text, bigint, integer)`)}) IS NOT NULL AS index_reads,
    to_regclass(${literal(t.instance)}) IS NOT NULL AS console`;

interface TypeResult {
  worked: boolean;
  retryAtMs?: number;
  /** More may be waiting right now (a full batch, a narrowed or failed one): look again next cycle. */
  more?: boolean;
}

/** What one pass of `drainOnce` did: events handled, skipped as already applied, and failed attempts. */
export interface DrainOnceResult {
  /** Events whose handlers ran and committed, in delivery order. */
  delivered: EventEnvelope[];
  /** Events skipped because this consumer had already applied them (dedup). */
  skipped: EventEnvelope[];
  /** Failed attempts: `retry` (scheduled after its delay; drainOnce does not wait) or `dead-lettered`. */
  failed: Array<{ event: EventEnvelope; attempt: number; error: unknown; outcome: "retry" | "dead-lettered" }>;
}

/** Live loops in this process, so tests can fail when one is left running. */
export const activeLoops = new Set<ConsumerLoop>();

/**
 * Polls the subscribed event types for one consumer: number newly committed events
 * (the sequencer), then per event type deliver a batch in one transaction. Sleeps when
 * idle until the poll interval, a retry time, or a NOTIFY wake-up.
 */
export class ConsumerLoop {
  private running = false;
  private nextReplayCheck = 0;
  private nextLagReport = 0;
  private done: Promise<void> | undefined;
  /** Numbering a backlog in the background while the loop delivers what is numbered (see numberCommitted). */
  private numbering: Promise<void> | undefined;
  private readonly wakeup = new Wakeup();
  private readonly deliverer: BatchDeliverer;
  private readonly recorder: FailureRecorder;
  private readonly types: string[];
  private readonly sequence: string;
  private readonly sequenceAndNotify: string;
  private readonly pendingSql: string;
  /** Types delivered one event per transaction up to this position, after a batch failed at commit. */
  private readonly narrowUntil = new Map<string, bigint>();
  /** Per type, the size of its next batch (see nextBatchSize); batchSize until a backlog grows it. */
  private readonly batchSizes = new Map<string, number>();
  listener: NotificationListener | undefined;
  /** This loop's row in dispatcher_consumer_instance, refreshed with the lag gauges. */
  readonly heartbeat: Heartbeat;
  /** Types to look at next cycle: notified, or with more waiting. */
  private readonly due = new Set<string>();
  /**
   * Per type, when its scheduled retry is due (epoch ms): kept until the type is delivered again, so
   * the loop wakes for it and then looks at it, whatever other cycles ran meanwhile.
   */
  private readonly retryAt = new Map<string, number>();
  /** Look at every type next cycle: at start, after a poll interval or retry time, a LISTEN (re)connect or an error. */
  private allDue = true;
  /** Set while drainOnce runs: collects what was delivered, skipped and failed. */
  private drained: DrainOnceResult | undefined;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly handlers: ReadonlyMap<string, StoredHandler[]>,
    readonly options: ResolvedConsumerOptions,
    /** Replays dead letters an operator asked for; returns what it did. */
    private readonly replayRequested: () => Promise<unknown[]> = async () => [],
  ) {
    this.types = [...handlers.keys()];
    this.deliverer = new BatchDeliverer(
      config.database,
      config.tables,
      options.consumer,
      options.handlerTimeoutMs,
      options.synchronousCommit,
    );
    this.recorder = new FailureRecorder(config.database, config.tables, options.consumer, options.retryDelaysMs);
    this.sequence = sequenceSql(config.tables.sequence);
    this.sequenceAndNotify = sequenceAndNotifySql(config.tables.sequence);
    this.pendingSql = pendingSql(config.tables);
    this.heartbeat = new Heartbeat(config.database, config.tables, options.consumer, this.types, options.lagReportIntervalMs);
  }

  async start(): Promise<void> {
    // The first heartbeat before the cursors: a dropConsumer running now either sees this replica
    // live and refuses, or finishes first and this replica's cursors are created afresh.
    try {
      await this.ensureCursors(() => this.heartbeat.beat());
    } catch (error) {
      await this.heartbeat.end();
      throw error;
    }
    this.running = true;
    activeLoops.add(this);
    if (this.options.listen && this.config.listenUrl) {
      this.listener = new NotificationListener({
        connectionString: this.config.listenUrl,
        consumer: this.options.consumer,
        eventTypes: new Set(this.types),
        onWake: (eventType) => {
          if (eventType === undefined) this.allDue = true;
          else this.due.add(eventType);
          this.wakeup.wake();
        },
        reconnectDelaysMs: this.options.listenReconnectDelaysMs,
        heartbeatMs: this.options.listenHeartbeatMs,
        logger: this.config.logger,
      });
      this.listener.start();
    } else if (this.options.listen) {
      this.config.logger.warn({ consumer: this.options.consumer }, "no databaseUrl or DATABASE_URL for LISTEN: polling only");
    }
    this.done = this.run();
  }

  /**
   * Delivers everything committed and due, then returns what it did (no LISTEN, no polling, no
   * waiting for retry delays): a test's or a script's "run the consumer once".
   */
  async drainOnce(): Promise<DrainOnceResult> {
    await this.ensureCursors();
    const result: DrainOnceResult = { delivered: [], skipped: [], failed: [] };
    this.drained = result;
    this.running = true;
    try {
      for (let worked = true; worked;) {
        worked = false;
        await this.sequenceCommitted();
        for (const type of this.types) worked = (await this.processType(type)).worked || worked;
      }
    } finally {
      this.running = false;
      this.drained = undefined;
    }
    return result;
  }

  /** Checks the schema, runs `beforeCreate` (the first heartbeat), then creates the missing cursors. */
  private async ensureCursors(beforeCreate?: () => Promise<void>): Promise<void> {
    const { consumer, startFrom } = this.options;
    const [schema] = await this.config.database.query<{ index_reads: boolean; console: boolean }>(schemaCheckSql(this.config.tables));
    if (!schema?.index_reads) throw new SchemaOutdatedError("20261202000000_index_reads", `function ${this.config.tables.eventsAfter}`);
    if (!schema.console) throw new SchemaOutdatedError("20261202000100_console", `table ${this.config.tables.instance}`);
    await beforeCreate?.();
    // "now": number every event committed so far first, so that all of them are at or below the start.
    if (startFrom === "now") await this.sequenceCommitted();
    const created = await this.config.database.query<{ event_type: string; position: string }>(ensureCursorsSql(this.config.tables), [
      consumer,
      JSON.stringify(this.types),
      startFrom,
    ]);
    for (const cursor of created) {
      this.config.logger.info(
        { consumer, event_type: cursor.event_type, start_from: startFrom, position: Number(cursor.position) },
        "dispatcher cursor created",
      );
    }
  }

  /** Stops taking new work; resolves when the batch in flight has finished and LISTEN is closed. */
  async stop(): Promise<void> {
    this.running = false;
    this.wakeup.wake();
    await this.done;
    await this.numbering;
    await this.listener?.stop();
    await this.heartbeat.end();
    activeLoops.delete(this);
  }

  /**
   * One cycle: number what committed, deliver the types that are due (notified ones, those with
   * more waiting; every type after a poll interval, a retry time or a reconnect, and always when
   * polling only), then the housekeeping (lag gauges, requested replays), so that a wake-up's
   * first round trips go to the delivery. Sleeps when nothing was done.
   */
  private async run(): Promise<void> {
    let offset = 0;
    while (this.running) {
      let failed = false;
      let wakeAt = Date.now() + this.options.pollIntervalMs;
      try {
        await this.numberCommitted();
        for (const eventType of await this.dueTypes(offset)) {
          if (!this.running) break;
          const result = await this.processType(eventType);
          if (result.more) this.due.add(eventType);
          if (result.retryAtMs !== undefined) this.retryAt.set(eventType, result.retryAtMs);
          else this.retryAt.delete(eventType);
        }
        offset += 1;
        if (Date.now() >= this.nextLagReport) {
          this.nextLagReport = Date.now() + this.options.lagReportIntervalMs;
          await this.heartbeat.beat();
          await this.reportLag();
        }
        if (Date.now() >= this.nextReplayCheck) {
          this.nextReplayCheck = Date.now() + REPLAY_CHECK_MS;
          await this.replayRequested();
        }
      } catch (error) {
        this.config.logger.error({ consumer: this.options.consumer, err: error }, "dispatcher consumer cycle failed");
        metrics.count("dispatcher.consumer_error.count", 1, { consumer: this.options.consumer });
        wakeAt = Math.min(wakeAt, Date.now() + 1000);
        this.allDue = true;
        failed = true;
      }
      // Straight on while a type has more waiting; else sleep until a notification (one that came
      // during the cycle ends it at once), the poll interval or the next retry time.
      for (const at of this.retryAt.values()) wakeAt = Math.min(wakeAt, at);
      const more = !failed && (this.due.size > 0 || this.allDue);
      if (!more && this.running && (await this.wakeup.sleep(Math.max(wakeAt - Date.now(), 5)))) this.allDue = true;
    }
  }

  /**
   * The types this cycle delivers, and forgets them (a type with more waiting is added back). When
   * every type is due, one query picks those with events past their cursor (and no retry pending
   * later), instead of a delivery transaction for each subscribed type.
   */
  private async dueTypes(offset: number): Promise<string[]> {
    const now = Date.now();
    for (const [type, at] of this.retryAt) {
      if (at > now) continue;
      this.due.add(type);
      this.retryAt.delete(type);
    }
    const all = this.allDue || !this.listener?.connected;
    const due = all ? new Set(await this.pendingTypes()) : new Set(this.due);
    this.allDue = false;
    this.due.clear();
    return this.types.map((_, i) => this.types[(offset + i) % this.types.length]!).filter((type) => due.has(type));
  }

  /** The types due now; those whose retry is still ahead are kept in `retryAt` (a restart, a replica's failure). */
  private async pendingTypes(): Promise<string[]> {
    const rows = await this.config.database.query<{ event_type: string; retry_in_ms: number | null }>(this.pendingSql, [
      this.options.consumer,
      this.types,
    ]);
    const now = Date.now();
    for (const row of rows) if (row.retry_in_ms !== null) this.retryAt.set(row.event_type, now + Number(row.retry_in_ms));
    return rows.filter((row) => row.retry_in_ms === null).map((row) => row.event_type);
  }

  /** Consumer lag per event type, in events and seconds, as gauges. */
  private async reportLag(): Promise<void> {
    for (const status of await consumerStatus(this.config.database, this.config.tables, this.options.consumer)) {
      const attributes = { consumer: status.consumer, event_type: status.eventType };
      metrics.gauge("dispatcher.consumer_lag.events", status.lagEvents, attributes);
      metrics.gauge("dispatcher.consumer_lag.seconds", status.lagSeconds, attributes);
    }
  }

  private async sequenceCommitted(): Promise<void> {
    while ((await this.sequenceOnce()) >= SEQUENCE_BATCH);
  }

  private async sequenceOnce(max: number = SEQUENCE_BATCH, sql = this.sequence): Promise<number> {
    const [row] = await this.config.database.query<{ numbered: number }>(sql, [max]);
    return Number(row?.numbered ?? 0);
  }

  /**
   * The loop's numbering: one sequencer statement of up to DEFAULTS.sequencer.inline events in line
   * (what a wake-up brings is numbered before its deliveries); when that filled it (a backlog), the
   * rest is numbered in DEFAULTS.sequencer.batch chunks in the
   * background, on a connection of its own, while the loop delivers what is already numbered: the
   * two run side by side in PostgreSQL instead of one after the other. Each chunk makes every type
   * due and wakes the loop. Deliveries never see an event before it is numbered, so this changes
   * when events become visible, not their order.
   */
  private async numberCommitted(): Promise<void> {
    if (this.numbering) return;
    if ((await this.sequenceOnce(SEQUENCE_INLINE)) < SEQUENCE_INLINE) return;
    this.allDue = true;
    this.numbering = (async () => {
      try {
        for (let numbered: number = SEQUENCE_BATCH; numbered >= SEQUENCE_BATCH && this.running;) {
          numbered = await this.sequenceOnce(SEQUENCE_BATCH, this.sequenceAndNotify);
          if (numbered > 0) {
            this.allDue = true;
            this.wakeup.wake();
          }
        }
      } catch (error) {
        this.config.logger.error({ consumer: this.options.consumer, err: error }, "dispatcher numbering failed");
        metrics.count("dispatcher.consumer_error.count", 1, { consumer: this.options.consumer });
      } finally {
        this.numbering = undefined;
        this.allDue = true;
        this.wakeup.wake();
      }
    })();
  }

  private async processType(eventType: string): Promise<TypeResult> {
    const handlers = this.handlers.get(eventType)!;
    const narrowing = this.narrowUntil.get(eventType);
    const limit = narrowing === undefined ? (this.batchSizes.get(eventType) ?? this.options.batchSize) : 1;
    const outcome = await this.deliverer.deliver(eventType, handlers, limit);
    // Single events while narrowing after a commit failure say nothing about the backlog's batch size.
    if (narrowing === undefined) this.batchSizes.set(eventType, this.nextBatchSize(limit, outcome));
    const result = await this.settle(eventType, handlers, outcome);
    // A full batch, a narrowed or failed one (worked, not delivered in full): look again next cycle.
    result.more = result.worked && (outcome.kind !== "delivered" || outcome.rows.length >= limit || this.narrowUntil.has(eventType));
    return result;
  }

  /**
   * The next batch of a type: twice this one after a full batch whose handlers were quick (a
   * backlog), half after a slow one, batchSize again once the backlog is drained or an attempt failed.
   */
  private nextBatchSize(limit: number, outcome: BatchOutcome): number {
    const { batchSize, maxBatchSize } = this.options;
    if (outcome.kind !== "delivered" || outcome.rows.length < limit) return batchSize;
    const handlerMs = outcome.handlerMs.reduce((sum, ms) => sum + ms, 0);
    if (handlerMs > 2 * DEFAULTS.batches.growBelowMs) return Math.max(batchSize, Math.floor(limit / 2));
    if (handlerMs < DEFAULTS.batches.growBelowMs) return Math.min(maxBatchSize, limit * 2);
    return limit;
  }

  /** Reports a delivery, or counts a failed attempt against the one event that caused it. */
  private async settle(eventType: string, handlers: StoredHandler[], outcome: BatchOutcome): Promise<TypeResult> {
    const narrowing = this.narrowUntil.get(eventType);
    if (outcome.kind === "locked" || outcome.kind === "paused") return { worked: false };
    if (outcome.kind === "waiting") return { worked: false, retryAtMs: outcome.retryAtMs };
    if (outcome.kind === "delivered") {
      this.report(eventType, outcome);
      const last = outcome.rows[outcome.rows.length - 1];
      if (narrowing !== undefined && (!last || BigInt(last.position) >= narrowing)) this.narrowUntil.delete(eventType);
      return { worked: outcome.rows.length > 0 };
    }
    if (outcome.stage === "commit" && outcome.handledCount > 1) {
      // The batch did not commit and any of its handlers may be at fault: deliver one event per
      // transaction up to the batch's end, so the failure is counted against the event that causes it.
      this.narrowUntil.set(eventType, BigInt(outcome.lastPosition));
      return { worked: true };
    }
    if (outcome.index > 0) {
      // Commit the events before the failing one; their handlers run again in the new transaction.
      // If that fails too, its failure is the one to count (it comes first).
      const prefix = await this.deliverer.deliver(eventType, handlers, outcome.index);
      if (prefix.kind !== "delivered") return this.settle(eventType, handlers, prefix);
      this.report(eventType, prefix);
      // The cursor moved meanwhile (a rewind, a replica): the prefix was other events and the failing
      // one is not next. Recording its failure now would move the cursor to it, past events never
      // applied (a dead letter) or count it against another event (a retry): read again instead.
      if (prefix.rows.at(-1)?.position !== outcome.previousPosition) return { worked: true };
    }
    const attributes = { consumer: this.options.consumer, event_type: eventType };
    metrics.count("dispatcher.handler_error.count", 1, attributes);
    const recorded = await this.recorder.record({
      eventType,
      row: outcome.row,
      error: outcome.error,
      attempt: outcome.attempt,
      previousPosition: outcome.previousPosition,
    });
    this.config.logger.warn(
      {
        ...attributes,
        event_id: outcome.row.event_id,
        attempt: outcome.attempt,
        stage: outcome.stage,
        outcome: recorded.kind,
        err: outcome.error,
      },
      "dispatcher handler failed",
    );
    if (recorded.kind !== "stale") {
      this.drained?.failed.push({ event: toEnvelope(outcome.row), attempt: outcome.attempt, error: outcome.error, outcome: recorded.kind });
    }
    if (recorded.kind === "retry") return { worked: false, retryAtMs: Date.now() + recorded.retryInMs };
    if (recorded.kind === "dead-lettered") {
      metrics.count("dispatcher.dead_letter.count", 1, attributes);
      if (narrowing !== undefined && BigInt(outcome.row.position) >= narrowing) this.narrowUntil.delete(eventType);
    }
    return { worked: true };
  }

  private report(eventType: string, outcome: Extract<BatchOutcome, { kind: "delivered" }>): void {
    this.drained?.delivered.push(...outcome.delivered.map(toEnvelope));
    this.drained?.skipped.push(...outcome.dedupHits.map(toEnvelope));
    const attributes = { consumer: this.options.consumer, event_type: eventType };
    if (outcome.delivered.length > 0) metrics.count("dispatcher.consume.count", outcome.delivered.length, attributes);
    if (outcome.dedupHits.length > 0) metrics.count("dispatcher.dedup_hit.count", outcome.dedupHits.length, attributes);
    outcome.handlerMs.forEach((ms) => metrics.observe("dispatcher.handler_latency_ms", ms, attributes));
    outcome.entryLatencyMs.forEach((ms) => metrics.observe("dispatcher.end_to_end_latency_ms", ms, attributes));
    for (const row of outcome.delivered) {
      if (row.sequenced_at) {
        const delay = new Date(row.sequenced_at).getTime() - new Date(row.created_at).getTime();
        metrics.observe("dispatcher.visibility_delay_ms", Math.max(delay, 0), attributes);
      }
    }
  }
}
