export { Dispatcher, DISPATCHER_INTERNALS, type DispatcherInternals, type PublishOptions } from "./dispatcher.js";
export { dispatcher, configureDispatcher, createDispatcher, type DispatcherFor } from "./singleton.js";
export {
  listDeadLetters,
  getDeadLetter,
  resolveDeadLetter,
  replayDeadLetter,
  replayDeadLetters,
  listDeadLetterGroups,
} from "./dead-letter-functions.js";
export { pruneDispatcherTables } from "./retention-functions.js";
