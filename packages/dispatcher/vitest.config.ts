import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["./test/global-setup.ts"],
    // Fails any test that leaves a consumer loop running, in every file.
    setupFiles: ["./test/setup.ts"],
    testTimeout: 120_000,
    // Failures the tests provoke on purpose would flood the output; logger.test.ts checks the default.
    env: { DISPATCHER_LOG_LEVEL: "silent" },
    hookTimeout: 120_000,
    typecheck: { enabled: true, include: ["test/**/*.test-d.ts"] },
    // Vitest empties every CSS import unless told to process it: the console imports its stylesheet as text (?raw).
    css: { include: [/src\/console\/ui\/app\.css/] },
  },
});
