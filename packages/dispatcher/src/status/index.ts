export { consumerStatus, type CursorStatus } from "./consumer-status.js";
export { resetCursor, type ResetCursorOptions, type ResetCursorResult, type RewoundCursor } from "./reset-cursor.js";
export { assertKnownConsumer, knownConsumers, listeningSessions } from "./consumers.js";
export { dropConsumer, type DropConsumerOptions, type DropConsumerResult } from "./drop-consumer.js";
