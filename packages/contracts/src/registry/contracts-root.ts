import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const REGISTRY_FILE = join("contracts", "event-types-registry.json");

/**
 * The folder holding the bundled `contracts/`: found by walking up from this module, so it
 * is the installed package's copy whatever the cwd (works from `src/` and from `dist/`).
 */
export function bundledContractsRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(join(dir, REGISTRY_FILE)) && existsSync(manifest)) {
      const name = (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name;
      if (name === "@sguild/contracts") return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("@sguild/contracts: bundled contracts folder not found");
    dir = parent;
  }
}

export function registryPathIn(root: string): string {
  return join(root, REGISTRY_FILE);
}
