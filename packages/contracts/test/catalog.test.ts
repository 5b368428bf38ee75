import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without types
import { renderCatalog } from "../scripts/generate-catalog.mjs";
// @ts-expect-error plain ESM script without types
import { flattenFields, model, renderAll } from "../scripts/generate-event-catalog.mjs";
import { loadRegistry } from "../src/index.js";

it("the checked-in catalog matches the schemas (run `pnpm generate` when this fails)", async () => {
  expect(readFileSync("src/catalog/generated.ts", "utf8")).toBe(await renderCatalog());
});

it("the checked-in event catalog (Markdown, HTML page, diagram) matches the registry, schemas and fixtures", async () => {
  const outputs: Record<string, string> = await renderAll();
  expect(Object.keys(outputs)).toEqual(["catalog/event-catalog.md", "catalog/event-catalog.html", "catalog/domain-diagram.svg"]);
  for (const [file, text] of Object.entries(outputs)) expect(readFileSync(file, "utf8"), file).toBe(text);
}, 60_000);

describe("the event catalog's content", () => {
  const registry = loadRegistry();
  const m = model();
  const html = readFileSync("catalog/event-catalog.html", "utf8");
  const text = html.replace(/\s+/g, " "); // Prettier wraps the page's text
  const markdown = readFileSync("catalog/event-catalog.md", "utf8");

  it("has every registered event type with its producer, consumers and versions", () => {
    expect(m.events.map((e: { type: string }) => e.type)).toEqual([...registry.eventTypes].sort((a, b) => a.localeCompare(b)));
    for (const type of registry.eventTypes) {
      const r = registry.getRegistration(type);
      const event = m.events.find((e: { type: string }) => e.type === type);
      expect([event.producer, event.consumers, event.versions.map((v: { version: number }) => v.version)]).toEqual([
        r.producer,
        r.consumers,
        r.schema_versions.map((v) => v.version),
      ]);
      expect(html).toContain(`id="event-${type}"`);
    }
  });

  it("lists every field of every schema, nested ones as paths, with full patterns, formats, minLength and descriptions", () => {
    const schema = registry.readSchema("contracts/identity/schema/payloads/intake.matched-v2.json");
    const fields = flattenFields(schema);
    const submissionZip = fields.find((f: { path: string }) => f.path === "submission.zip");
    expect(submissionZip).toMatchObject({ type: "string", pattern: "^[0-9]{5}$", required: true, depth: 1 });
    expect(fields.find((f: { path: string }) => f.path === "visitor_id")).toMatchObject({
      type: "string | null",
      constraints: "min length 1",
      required: true,
    });
    const lessons = flattenFields(
      registry.readSchema("contracts/coaching-confirmation/schema/payloads/coaching.lesson.confirmation_decided-v1.json"),
    );
    expect(lessons.map((f: { path: string }) => f.path)).toContain("lessons[].decline_reason");
    // the pattern in full, never cut short
    const lead = "^lead_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$";
    expect(html).toContain(`<code>${lead}</code>`);
    expect(markdown).toContain(`\`${lead}\``);
    expect(html).not.toContain("…");
    expect(text).toContain("min length 1");
    expect(text).toContain("The intake that was matched (intake.captured's subject).");
  });

  it("shows a valid example from the fixtures for every version with a payload schema", () => {
    for (const e of m.events)
      for (const v of e.versions) {
        if (!v.schema) continue;
        const dir = join("fixtures", `${e.type}-v${v.version}`);
        const file = readdirSync(dir)
          .sort()
          .find((f) => JSON.parse(readFileSync(join(dir, f), "utf8")).valid);
        expect(v.example.file).toBe(`${dir}/${file}`);
        expect(v.example.payload).toEqual(JSON.parse(readFileSync(join(dir, file!), "utf8")).payload);
        expect(html).toContain(v.example.file);
      }
  });

  it("draws the diagram as SVG in the page (no mermaid source, no script or stylesheet from the network)", () => {
    expect(html).toMatch(/<svg\s+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(html).not.toContain("mermaid");
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/url\((https?:)?\/\//);
    const flows = m.flows.length;
    expect(html.match(/class="edge"/g)).toHaveLength(flows);
  });

  it("every line of the generated page and diagram is at most 140 characters", () => {
    for (const file of ["catalog/event-catalog.html", "catalog/domain-diagram.svg"]) {
      const long = readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => [...line].length > 140);
      expect(long, file).toEqual([]);
    }
  });
});
