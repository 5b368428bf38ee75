export { ConsumerLoop, activeLoops } from "./consumer-loop.js";
export { type Handler, type HandlerContext } from "./deliver-batch.js";
export { failureFingerprint } from "./record-failure.js";
export { NOTIFY_CHANNEL } from "./listener.js";
