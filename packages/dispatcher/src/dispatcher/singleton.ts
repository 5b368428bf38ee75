import type { DispatcherConfig } from "../config/index.js";
import { Dispatcher } from "./dispatcher.js";

/**
 * The process-wide dispatcher of the seed README. Configure it once at startup with
 * `configureDispatcher`; unconfigured, it reads DISPATCHER_PRODUCER, DISPATCHER_TENANT_ID
 * and DATABASE_URL on first use.
 */
export const dispatcher = new Dispatcher();

/** Configures the `dispatcher` singleton; settings are validated now and a bad one throws DispatcherConfigError. */
export function configureDispatcher(config: DispatcherConfig): void {
  dispatcher.configure(config);
}

/** An independent dispatcher (several per process: other producers, consumers or databases). */
export function createDispatcher(config: DispatcherConfig): Dispatcher {
  return new Dispatcher(config);
}
