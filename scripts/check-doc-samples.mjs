// Compiles every ```ts sample in docs/*.md against the workspace packages, so samples cannot rot.
// Each sample is its own module; names a sample leaves to the reader are declared in tests/doc-samples-support.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "tests/.doc-samples");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
cpSync(join(root, "tests/doc-samples-support"), out, { recursive: true });
let count = 0;
for (const file of readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md"))) {
  const text = readFileSync(join(root, "docs", file), "utf8");
  let n = 0;
  for (const match of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
    n += 1;
    count += 1;
    writeFileSync(join(out, `${file.replace(/\.md$/, "")}-${n}.mts`), `// from docs/${file}, sample ${n}\n${match[1]}\nexport {};\n`);
  }
}
writeFileSync(join(out, "tsconfig.json"), JSON.stringify({ extends: "../../tsconfig.base.json", compilerOptions: { noEmit: true, noUnusedLocals: false, types: ["node"] }, include: ["*.mts", "*.d.ts", "generated/**/*.d.ts"] }, null, 2));
try {
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", out], { stdio: "inherit" });
} catch {
  console.error("doc samples: compile errors above (the file names say which doc and sample)");
  process.exit(1);
}
console.log(`doc samples: ${count} TypeScript samples in docs/ compile`);
