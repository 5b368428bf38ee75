import { activeLoops } from "../consumer/index.js";

export { createTestDatabase, setupTestPostgres, startTestPostgres, type TestDatabase } from "@sguild/prisma-fragment/testing";
export { injectEvent } from "./inject-event.js";
export { runOnce, type RunOnceResult } from "./run-once.js";
export { waitForEvent, type WaitForEventOptions } from "./wait-for-event.js";

/** Consumer loops still running in this process (a test should end with none). */
export function runningConsumerLoops(): number {
  return activeLoops.size;
}
