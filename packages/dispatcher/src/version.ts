import { readFileSync } from "node:fs";

/** This package's version, read once from its package.json (one folder up from src/ and from dist/). */
export const DISPATCHER_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
})();
