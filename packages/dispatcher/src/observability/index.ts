export {
  configureDispatcherObservability,
  metrics,
  tracing,
  type ObservabilityHooks,
  type TracingHooks,
  type Attributes,
} from "./hooks.js";
export { silentLogger, consoleLogger, defaultLogger, formatLogLine, type Logger, type LogLevel } from "./logger.js";
export { openTelemetryMetrics, openTelemetryTracing } from "./adapters/open-telemetry.js";
export { prometheusMetrics, type PrometheusOptions } from "./adapters/prometheus.js";
