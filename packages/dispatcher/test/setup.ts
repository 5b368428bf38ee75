import { afterEach, expect } from "vitest";
import { runningConsumerLoops } from "../src/testing/index.js";

// Registered for every test file through vitest's setupFiles: a test that leaves a consumer loop running fails.
afterEach(() => {
  expect(runningConsumerLoops(), "a consumer loop was left running").toBe(0);
});
