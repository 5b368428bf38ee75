export { configureDispatcherObservability, metrics, type ObservabilityHooks, type Attributes } from "./hooks.js";
export { silentLogger, type Logger } from "./logger.js";
