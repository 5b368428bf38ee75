export { Dispatcher, type PublishOptions } from "./dispatcher.js";
export { dispatcher, configureDispatcher, createDispatcher } from "./singleton.js";
