import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { defineConfig, type Options } from "tsup";

type Plugin = NonNullable<Options["esbuildPlugins"]>[number];

/**
 * `import text from "./file?raw"` bundles the file's text (the console's page, script and stylesheet):
 * nothing is read at run time. The resolved path keeps its `?raw`, so that tsup's own loaders (which
 * match `.css` in every namespace) never see a `.css` path; it is relative to the package, as the
 * bundle's comments name files.
 */
const rawText: Plugin = {
  name: "raw-text",
  setup(build) {
    build.onResolve({ filter: /\?raw$/ }, (args) => ({
      path: relative(process.cwd(), resolve(args.resolveDir, args.path)),
      namespace: "raw-text",
    }));
    build.onLoad({ filter: /\?raw$/, namespace: "raw-text" }, (args) => {
      const file = resolve(args.path.slice(0, -"?raw".length));
      return { contents: readFileSync(file, "utf8"), loader: "text", watchFiles: [file] };
    });
  },
};

export default defineConfig({
  entry: ["src/index.ts", "src/testing/index.ts", "src/jetstream/index.ts", "src/cli/main.ts"],
  format: ["esm", "cjs"],
  dts: { entry: ["src/index.ts", "src/testing/index.ts", "src/jetstream/index.ts"] },
  shims: true,
  clean: true,
  target: "node20",
  esbuildPlugins: [rawText],
});
