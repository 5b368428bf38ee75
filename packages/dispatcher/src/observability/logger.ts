import { DispatcherConfigError, InvalidArgumentError } from "../errors/index.js";

/** pino-compatible: `logger.warn({ consumer, err }, "message")`. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

const noop = () => undefined;
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

function describeValue(value: unknown): string {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return JSON.stringify(`${value.name}${typeof code === "string" ? ` ${code}` : ""}: ${value.message}`);
  }
  if (typeof value === "string") return /^[\w.:/@-]*$/.test(value) && value !== "" ? value : JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** One line per entry: `[sguild-dispatcher] WARN message key=value ...`, errors as `"Name CODE: message"`. */
export function formatLogLine(level: Exclude<LogLevel, "silent">, fields: Record<string, unknown>, message: string): string {
  const pairs = Object.entries(fields ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${describeValue(v)}`);
  return [`[sguild-dispatcher] ${level.toUpperCase()} ${message}`, ...pairs].join(" ");
}

/**
 * The default logger: entries at `level` and above go to the console (warn and error to stderr).
 * `configureDispatcher({ logger })` replaces it with any pino-compatible logger; `silentLogger` mutes it.
 */
export function consoleLogger(level: LogLevel = "warn"): Logger {
  if (!LEVELS.includes(level))
    throw new InvalidArgumentError(`log level must be one of ${LEVELS.join(", ")} (got ${JSON.stringify(level)})`, "level");
  const at = LEVELS.indexOf(level);
  const make = (l: Exclude<LogLevel, "silent">, write: (line: string) => void) =>
    LEVELS.indexOf(l) >= at ? (fields: Record<string, unknown>, message: string) => write(formatLogLine(l, fields, message)) : noop;
  return {
    debug: make("debug", (line) => console.debug(line)),
    info: make("info", (line) => console.info(line)),
    warn: make("warn", (line) => console.warn(line)),
    error: make("error", (line) => console.error(line)),
  };
}

/** The logger used when none is configured: consoleLogger at DISPATCHER_LOG_LEVEL, default `warn`. */
export function defaultLogger(): Logger {
  const level = (process.env["DISPATCHER_LOG_LEVEL"] || "warn") as LogLevel;
  if (!LEVELS.includes(level)) {
    throw new DispatcherConfigError(`DISPATCHER_LOG_LEVEL must be one of ${LEVELS.join(", ")} (got ${JSON.stringify(level)})`, "logger");
  }
  return consoleLogger(level);
}
