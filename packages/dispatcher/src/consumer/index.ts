export { ConsumerLoop, activeLoops } from "./consumer-loop.js";
export { commitHooks, runHandlers, type Handler, type HandlerContext } from "./run-handlers.js";
export { failureFingerprint } from "./record-failure.js";
export { NOTIFY_CHANNEL } from "./listener.js";
