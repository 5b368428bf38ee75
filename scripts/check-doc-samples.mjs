// Compiles every ```ts sample in docs/*.md and in the READMEs (the root one, packages/*/ and apps/*/)
// against the workspace packages, so samples cannot rot.
// Each sample is its own module; names a sample leaves to the reader are declared in tests/doc-samples-support.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "tests/.doc-samples");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
cpSync(join(root, "tests/doc-samples-support"), out, { recursive: true });
const markdown = (folder) =>
  readdirSync(join(root, folder))
    .filter((f) => f.endsWith(".md"))
    .map((f) => join(folder, f));
const readmes = (folder) =>
  readdirSync(join(root, folder), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, folder, entry.name, "README.md")))
    .map((entry) => join(folder, entry.name, "README.md"));
const sources = [...markdown("docs"), "README.md", ...readmes("packages"), ...readmes("apps")];
let count = 0;
const counted = new Map();
for (const file of sources) {
  const text = readFileSync(join(root, file), "utf8");
  let n = 0;
  for (const match of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
    n += 1;
    count += 1;
    const name = file.replace(/\.md$/, "").replace(/[\\/]/g, "-");
    writeFileSync(join(out, `${name}-${n}.mts`), `// from ${file}, sample ${n}\n${match[1]}\nexport {};\n`);
  }
  counted.set(file, n);
}
writeFileSync(
  join(out, "tsconfig.json"),
  JSON.stringify(
    {
      extends: "../../tsconfig.base.json",
      compilerOptions: { noEmit: true, noUnusedLocals: false, types: ["node"] },
      include: ["*.mts", "*.d.ts", "generated/**/*.d.ts"],
    },
    null,
    2,
  ),
);
try {
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", out], { stdio: "inherit" });
} catch {
  console.error("doc samples: compile errors above (the file names say which doc and sample)");
  process.exit(1);
}
const where = [...counted]
  .filter(([, n]) => n > 0)
  .map(([file, n]) => `${file} ${n}`)
  .join(", ");
console.log(`doc samples: ${count} TypeScript samples compile (${where})`);
