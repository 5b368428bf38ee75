export { consumerStatus, type CursorStatus } from "./consumer-status.js";
export { resetCursor, type ResetCursorOptions, type ResetCursorResult } from "./reset-cursor.js";
