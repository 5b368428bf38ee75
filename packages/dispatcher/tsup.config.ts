import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/testing/index.ts", "src/cli/main.ts"],
  format: ["esm", "cjs"],
  dts: { entry: ["src/index.ts", "src/testing/index.ts"] },
  shims: true,
  clean: true,
  target: "node20",
});
