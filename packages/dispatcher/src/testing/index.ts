import { activeLoops } from "../consumer/index.js";

export { createTestDatabase, setupTestPostgres, startTestPostgres, type TestDatabase } from "@sguild/prisma-fragment/testing";

/** Consumer loops still running in this process (a test should end with none). */
export function runningConsumerLoops(): number {
  return activeLoops.size;
}
