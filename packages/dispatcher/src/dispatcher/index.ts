export { Dispatcher, type PublishOptions } from "./dispatcher.js";
export { dispatcher, configureDispatcher, createDispatcher, type DispatcherFor } from "./singleton.js";
