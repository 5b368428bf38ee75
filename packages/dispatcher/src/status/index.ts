export { consumerStatus, type CursorStatus } from "./consumer-status.js";
export { resetCursor, type ResetCursorOptions, type ResetCursorResult, type RewoundCursor } from "./reset-cursor.js";
