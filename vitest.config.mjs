import { defineConfig } from "vitest/config";

// Root-level end-to-end tests only; each package and app runs its own suite through turbo.
export default defineConfig({ test: { include: ["tests/*.test.mjs"], testTimeout: 300_000, hookTimeout: 600_000 } });
