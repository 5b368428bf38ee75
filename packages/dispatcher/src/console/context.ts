import type { Tables } from "../config/index.js";
import type { Database } from "../database/index.js";
import { DISPATCHER_INTERNALS, type Dispatcher } from "../dispatcher/dispatcher.js";
import type { Logger } from "../observability/index.js";
import type { JetStreamStreamRef } from "../jetstream/config.js";

/** What one console request works with: the dispatcher it shows, its database and tables, and where actions are logged. */
export interface ConsoleContext {
  dispatcher: Dispatcher;
  database: Database;
  tables: Tables;
  logger: Logger;
  /** The JetStream transport to show, when the console was given one. */
  jetstream?: JetStreamStreamRef;
}

export function consoleContext(
  dispatcher: Dispatcher,
  logger: Logger | undefined,
  jetstream?: ConsoleContext["jetstream"],
): ConsoleContext {
  const { config } = dispatcher[DISPATCHER_INTERNALS]();
  return { dispatcher, database: config.database, tables: config.tables, logger: logger ?? config.logger, jetstream };
}
