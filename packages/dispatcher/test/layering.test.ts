import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const src = new URL("../src/", import.meta.url).pathname;
const importsOf = (folder: string) =>
  readdirSync(join(src, folder))
    .filter((file) => file.endsWith(".ts"))
    .flatMap((file) =>
      [...readFileSync(join(src, folder, file), "utf8").matchAll(/from "([^"]+)"/g)].map((m) => `${folder}/${file}: ${m[1]}`),
    );

describe("layering", () => {
  // The Dispatcher is built on the dead-letter service and retention; the singleton's seed-API
  // wrappers (listDeadLetters, pruneDispatcherTables, ...) live beside it in dispatcher/.
  it("no module in dlq/ or retention/ imports dispatcher/", () => {
    const upward = [...importsOf("dlq"), ...importsOf("retention")].filter((line) => /: \.\.\/dispatcher\//.test(line));
    expect(upward).toEqual([]);
  });
});
