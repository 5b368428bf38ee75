export {
  dispatcher,
  configureDispatcher,
  createDispatcher,
  Dispatcher,
  type DispatcherFor,
  type PublishOptions,
  listDeadLetters,
  getDeadLetter,
  resolveDeadLetter,
  replayDeadLetter,
  replayDeadLetters,
  listDeadLetterGroups,
  pruneDispatcherTables,
} from "./dispatcher/index.js";
export { CONSUMER_DEFAULTS, type DispatcherConfig, type ConsumerLoopOptions } from "./config/index.js";
export { uncataloged } from "./envelope/index.js";
export type {
  EventEnvelope,
  Emit,
  EmitOf,
  DefaultEmit,
  DefaultPayloadOf,
  VersionedEmit,
  VersionOf,
  EmitExtras,
  AnyPayloadOf,
  UncatalogedEventType,
  UncatalogedEmit,
} from "./envelope/index.js";
export type { Handler, HandlerContext } from "./consumer/index.js";
export {
  fromPrisma,
  fromPgPool,
  type Database,
  type Queryable,
  type TransactionClient,
  type PrismaLike,
  type Register,
  type AnyTransactionClient,
  type TransactionOf,
  type PublishTransactionOf,
  type RegisteredTransaction,
} from "./database/index.js";
export {
  configureDispatcherObservability,
  openTelemetryMetrics,
  openTelemetryTracing,
  prometheusMetrics,
  type ObservabilityHooks,
  type TracingHooks,
  type PrometheusOptions,
  type Attributes,
  type Logger,
  type LogLevel,
  silentLogger,
  consoleLogger,
} from "./observability/index.js";
export { DeadLetterService, type DeadLetter, type DeadLetterGroup, type ListDeadLettersOptions, type ReplayResult } from "./dlq/index.js";
export { createDeadLetterRoutes, toNodeHandler, type DeadLetterRoutesOptions, type AuthorizationResult } from "./http/index.js";
export {
  createConsole,
  type ConsoleOptions,
  type ConsoleAccess,
  type ConsoleHandler,
  type ConsumerSummary,
  type ConsumerTypeState,
  type ConsumerInstance,
  type PublishedType,
  type ConsoleOverview,
  type ConsoleEventRow,
  type ConsoleEventDetail,
  type DeadLetterView,
  type ConsoleReplayOutcome,
} from "./console/index.js";
export { PRUNE_DEFAULTS, type PruneOptions, type PruneResult } from "./retention/index.js";
export { consumerStatus, resetCursor, type CursorStatus, type ResetCursorOptions, type ResetCursorResult } from "./status/index.js";
export { tablesFor, type Tables } from "./config/index.js";
export * from "./errors/index.js";
export {
  loadRegistry,
  getRegistration,
  resolveSchemaVersion,
  type Registration,
  type Registry,
  type SchemaVersionRegistration,
  type Domain,
  type EventCatalog,
  type CatalogEventType,
  type PayloadOf,
} from "@sguild/contracts";
export {
  createFanoutRelay,
  FanoutRelay,
  fanoutConsumerName,
  createInbox,
  drainFanout,
  toCloudEvent,
  fromCloudEvent,
  signBody,
  verifySignature,
  type FanoutRelayOptions,
  type InboxOptions,
  type InboxKey,
  type DrainResult,
  type DestinationConfig,
} from "./fanout/index.js";
