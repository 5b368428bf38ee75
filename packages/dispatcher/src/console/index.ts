export { createConsole, type ConsoleOptions, type ConsoleAccess, type ConsoleHandler, type ConsoleJetStream } from "./handler.js";
export type {
  ConsumerSummary,
  TypeState as ConsumerTypeState,
  Instance as ConsumerInstance,
  PublishedType,
  Overview as ConsoleOverview,
} from "./overview.js";
export type { EventRow as ConsoleEventRow, EventDetail as ConsoleEventDetail } from "./events.js";
export type { DeadLetterView, ReplayOutcome as ConsoleReplayOutcome } from "./dead-letters.js";
