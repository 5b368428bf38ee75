import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/lint-cli.ts"],
  format: ["esm", "cjs"],
  dts: { entry: "src/index.ts" },
  shims: true,
  clean: true,
  target: "node20",
});
