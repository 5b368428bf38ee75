import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
// @ts-expect-error plain ESM script without types
import { renderCatalog } from "../scripts/generate-catalog.mjs";

it("the checked-in catalog matches the schemas (run `pnpm generate` when this fails)", async () => {
  expect(readFileSync("src/catalog/generated.ts", "utf8")).toBe(await renderCatalog());
});

it("the checked-in event catalog (Markdown and HTML) matches the registry", async () => {
  // @ts-expect-error plain ESM script without types
  const { renderMarkdown, renderHtml } = await import("../scripts/generate-event-catalog.mjs");
  expect(readFileSync("catalog/event-catalog.md", "utf8")).toBe(renderMarkdown());
  expect(readFileSync("catalog/event-catalog.html", "utf8")).toBe(renderHtml());
});
