export { dispatcher, configureDispatcher, createDispatcher, Dispatcher, type PublishOptions } from "./dispatcher/index.js";
export { CONSUMER_DEFAULTS, type DispatcherConfig, type ConsumerLoopOptions } from "./config/index.js";
export type { EventEnvelope, Emit, EmitExtras, AnyPayloadOf } from "./envelope/index.js";
export type { Handler, HandlerContext } from "./consumer/index.js";
export { fromPrisma, fromPgPool, type Database, type Queryable, type TransactionClient, type PrismaLike } from "./database/index.js";
export { configureDispatcherObservability, type ObservabilityHooks, type Attributes, type Logger } from "./observability/index.js";
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
