import { DispatcherConfigError } from "../errors/index.js";

/** Options of `dispatcher.start()`; every default lives in CONSUMER_DEFAULTS. */
export interface ConsumerLoopOptions {
  /** Name of this consumer (its cursors and dedup rows are keyed by it), e.g. "coaching". Required. */
  consumer: string;
  /**
   * Events read per (event_type, transaction) at first. Default 50. While a type has a backlog (its
   * last batch came back full) and its handlers are quick, each batch doubles, up to maxBatchSize;
   * it falls back to batchSize when the backlog is drained or an attempt fails.
   */
  batchSize?: number;
  /**
   * The largest batch a backlog grows to. Default 500 when batchSize is not given either; when only
   * batchSize is given, batchSize (every batch that size, as before 2.1). A batch grows only while its
   * handlers took under DEFAULTS.batches.growBelowMs in all, and shrinks when they took over twice that.
   */
  maxBatchSize?: number;
  /** Sleep between polls when idle; NOTIFY cuts it short. Default 5000 ms. */
  pollIntervalMs?: number;
  /** Delay before each retry; attempts = 1 + its length; then dead-letter. Default [1000, 5000, 15000]. Each gets 0-30% jitter. */
  retryDelaysMs?: number[];
  /** A handler running longer counts as failed. Default 30000 ms. */
  handlerTimeoutMs?: number;
  /**
   * Wait for the delivery transaction's WAL flush at commit. Default false: the handler's writes,
   * dedup rows and cursor commit together either way, and a PostgreSQL crash can only lose the
   * newest deliveries as a whole, which are then delivered again (nothing lost, nothing applied
   * twice). Set true when handlers must not be re-run after a database crash.
   */
  synchronousCommit?: boolean;
  /** LISTEN for wake-ups on a dedicated connection. false = poll only (transaction-mode PgBouncer). Default true. */
  listen?: boolean;
  /** Backoff between LISTEN reconnects. Default [1000, 5000, 15000, 60000]. */
  listenReconnectDelaysMs?: number[];
  /** How often the LISTEN connection is checked (pg_listening_channels()). Default 15000 ms. */
  listenHeartbeatMs?: number;
  /** How often consumer lag gauges are computed and reported. Default 10000 ms. */
  lagReportIntervalMs?: number;
  /**
   * Where a cursor this start creates begins (one per subscribed event type the consumer has no
   * cursor for yet; existing cursors are never moved). "earliest": the earliest event of the type
   * still stored (events already pruned are gone). "now": after every event committed before
   * start(); only events committed later are delivered. Default "earliest".
   */
  startFrom?: StartFrom;
}

export type StartFrom = "earliest" | "now";

export type ResolvedConsumerOptions = Required<ConsumerLoopOptions>;

export const CONSUMER_DEFAULTS = {
  batchSize: 50,
  maxBatchSize: 500,
  pollIntervalMs: 5000,
  retryDelaysMs: [1000, 5000, 15000],
  handlerTimeoutMs: 30_000,
  synchronousCommit: false,
  listen: true,
  listenReconnectDelaysMs: [1000, 5000, 15000, 60000],
  listenHeartbeatMs: 15_000,
  lagReportIntervalMs: 10_000,
  startFrom: "earliest",
} as const satisfies Omit<ResolvedConsumerOptions, "consumer">;

const CONSUMER_NAME = /^[a-z][a-z0-9_.:-]{0,127}$/;

export function resolveConsumerOptions(options: ConsumerLoopOptions): ResolvedConsumerOptions {
  if (!options || typeof options.consumer !== "string" || !CONSUMER_NAME.test(options.consumer)) {
    throw new DispatcherConfigError(
      `start({ consumer }) needs a consumer name matching ${CONSUMER_NAME} (got ${JSON.stringify(options?.consumer)})`,
      "consumer",
    );
  }
  const given = stripUndefined(options);
  const resolved = { ...CONSUMER_DEFAULTS, ...given } as ResolvedConsumerOptions;
  // A batchSize given alone keeps every batch that size.
  if (given.batchSize !== undefined && given.maxBatchSize === undefined) resolved.maxBatchSize = resolved.batchSize;
  const positive = (name: keyof ResolvedConsumerOptions, value: number) => {
    if (!Number.isInteger(value) || value < 1) throw new DispatcherConfigError(`${name} must be a positive integer (got ${value})`, name);
  };
  positive("batchSize", resolved.batchSize);
  positive("maxBatchSize", resolved.maxBatchSize);
  if (resolved.maxBatchSize < resolved.batchSize) {
    throw new DispatcherConfigError(
      `maxBatchSize must be at least batchSize (got maxBatchSize ${resolved.maxBatchSize}, batchSize ${resolved.batchSize})`,
      "maxBatchSize",
    );
  }
  positive("pollIntervalMs", resolved.pollIntervalMs);
  positive("handlerTimeoutMs", resolved.handlerTimeoutMs);
  positive("listenHeartbeatMs", resolved.listenHeartbeatMs);
  positive("lagReportIntervalMs", resolved.lagReportIntervalMs);
  if (resolved.startFrom !== "earliest" && resolved.startFrom !== "now") {
    throw new DispatcherConfigError(`startFrom must be "earliest" or "now" (got ${JSON.stringify(resolved.startFrom)})`, "startFrom");
  }
  for (const [name, list] of [
    ["retryDelaysMs", resolved.retryDelaysMs],
    ["listenReconnectDelaysMs", resolved.listenReconnectDelaysMs],
  ] as const) {
    if (!Array.isArray(list) || list.some((d) => !Number.isFinite(d) || d < 0)) {
      throw new DispatcherConfigError(`${name} must be an array of non-negative numbers`, name);
    }
  }
  return resolved;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
