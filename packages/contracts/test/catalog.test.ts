import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
// @ts-expect-error plain ESM script without types
import { renderCatalog } from "../scripts/generate-catalog.mjs";

it("the checked-in catalog matches the schemas (run `pnpm generate` when this fails)", async () => {
  expect(readFileSync("src/catalog/generated.ts", "utf8")).toBe(await renderCatalog());
});
