export * from "./dispatcher-errors.js";
export * from "./delivery-errors.js";
export * from "./dead-letter-errors.js";
export * from "./jetstream-errors.js";
export type { DispatcherErrorCode } from "./codes.js";
