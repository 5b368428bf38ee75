export { Dispatcher, DISPATCHER_INTERNALS, type DispatcherInternals, type PublishOptions } from "./dispatcher.js";
export { dispatcher, configureDispatcher, createDispatcher, type DispatcherFor } from "./singleton.js";
