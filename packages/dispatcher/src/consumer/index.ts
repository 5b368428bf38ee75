export { ConsumerLoop, activeLoops, type DrainOnceResult } from "./consumer-loop.js";
export { commitHooks, runHandlers, type Handler, type HandlerContext, type StoredHandler } from "./run-handlers.js";
export { failureFingerprint } from "./record-failure.js";
export { NOTIFY_CHANNEL } from "./listener.js";
export { attemptDelivery, DeliveryAttempt, type AttemptFailure, type AttemptResult, type AttemptSettings } from "./attempt.js";
export { TransactionGuard } from "./transaction-guard.js";
