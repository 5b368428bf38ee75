/**
 * Every default of the dispatcher that is not an option of `start()` (those are CONSUMER_DEFAULTS,
 * in consumer-options.ts) or of `prune()` (PRUNE_DEFAULTS, in retention/), each with its unit. An
 * option documented elsewhere ("Default 50") names its value from here.
 */
export const DEFAULTS = {
  deadLetters: {
    /** Dead letters `list()` returns when no `limit` is given, newest first. */
    listLimit: 50,
    /** The most `list()` and `replayAll()` accept as `limit`, and `replayAll()`'s default. */
    maxLimit: 1000,
    /** Requested replays a consumer loop performs per check, oldest request first. */
    requestedPerCheck: 20,
    /** How often a consumer loop looks for replays an operator requested of it, in ms. */
    requestCheckIntervalMs: 1000,
  },
  transactions: {
    /**
     * Added to the handlers' time bound for a delivery or replay transaction's own bound (Prisma's
     * interactive-transaction `timeout`), in ms: room for the read, the bookkeeping and COMMIT.
     */
    deliveryMarginMs: 30_000,
    /** Prisma interactive-transaction `timeout` of the dispatcher's other transactions, in ms. */
    prismaTimeoutMs: 60_000,
    /** Prisma interactive-transaction `timeout` of one batch of prune's event deletion (its DELETE may be long), in ms. */
    pruneBatchTimeoutMs: 600_000,
    /** Prisma interactive-transaction `maxWait` (waiting for a connection), in ms. */
    prismaMaxWaitMs: 10_000,
    /** How long a timed-out attempt's backend is given to exit after pg_terminate_backend, in ms. */
    terminateWaitMs: 5000,
  },
  batches: {
    /**
     * A full batch is followed by one twice its size (up to maxBatchSize) only when its handlers
     * took less than this in all, in ms; over twice this, the next is half its size (down to
     * batchSize). Bounds how long a delivery transaction holds its handlers' locks while a backlog drains.
     */
    growBelowMs: 50,
  },
  sequencer: {
    /** Events numbered per sequencer statement; a full run is followed by another at once. */
    batch: 5000,
    /**
     * Events the consumer loop numbers in line, before its deliveries; a backlog past this is numbered
     * in `batch` chunks on a connection of its own while the loop delivers (a 20,000-event backlog
     * drained 19,000-21,000/s with 5000 in line, 21,800-25,500/s with 500: deliveries start sooner).
     */
    inline: 500,
  },
  pools: {
    /** Size of a pool the dispatcher opens from `databaseUrl` / DATABASE_URL. */
    max: 10,
    /** Size of the CLI's pool and of a database destination's pool. */
    smallMax: 2,
    /** Connect timeout of the CLI's pool and of a database destination's pool, in ms. */
    connectTimeoutMs: 5000,
    /** Connect timeout of the LISTEN connection, in ms; a connect that never completes is retried. */
    listenConnectTimeoutMs: 10_000,
  },
  fanout: {
    /**
     * The relay's destination loops retry a failed delivery after these delays (ms) unless
     * `consumerOptions.retryDelaysMs` says otherwise.
     */
    retryDelaysMs: [1000, 5000, 15000, 60000] as readonly number[],
    /** After an inbox refused batches, an HTTP destination sends one event per request for this long, in ms. */
    batchRefusedRetryMs: 10 * 60_000,
  },
  inbox: {
    /** Accepted distance between the signature's timestamp and the inbox's clock, in ms. */
    toleranceMs: 300_000,
    /** Largest request body the inbox reads, in bytes; above it answers 413. */
    maxBodyBytes: 1_048_576,
    /** Most events in one batched inbox request; more is answered 413 BATCH_TOO_LARGE. */
    maxBatchEvents: 1000,
  },
  http: {
    /** Largest request body the dead-letter routes read, in bytes. */
    deadLetterRoutesMaxBodyBytes: 65_536,
  },
  console: {
    /** Where `createConsole` is mounted unless `basePath` says otherwise. */
    basePath: "/dispatcher/console",
    /** Largest request body the console reads, in bytes. */
    maxBodyBytes: 65_536,
  },
} as const;
