// The generated catalog page in a real browser: Debian's Chromium driven by playwright-core (no browser is downloaded;
// CHROMIUM_PATH overrides /usr/bin/chromium), opened from the file system as a reader would. Each test does what a reader
// does (search, pick filters, click the diagram, follow a link) and compares what the page shows with the registry, the
// schemas and the fixtures. Screenshots of the page go to docs/images/contracts-catalog*.png (shown in
// docs/upgrading-contracts.md).
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without types
import { flattenFields } from "../scripts/generate-event-catalog.mjs";
import { loadRegistry } from "../src/index.js";

const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
const PAGE = pathToFileURL(fileURLToPath(new URL("../catalog/event-catalog.html", import.meta.url))).href;
const IMAGES = fileURLToPath(new URL("../../../docs/images/", import.meta.url));

const registry = loadRegistry();
const all = [...registry.eventTypes].sort((a, b) => a.localeCompare(b));
const where = (keep: (producer: string, consumers: string[]) => boolean) =>
  all.filter((t) => keep(registry.getRegistration(t).producer, registry.getRegistration(t).consumers));
const fieldsOf = (type: string): string[] =>
  registry
    .getRegistration(type)
    .schema_versions.flatMap((v) => (v.payload_schema ? flattenFields(registry.readSchema(v.payload_schema)) : []))
    .map((f: { path: string }) => f.path);

let browser: Browser;
const contexts: BrowserContext[] = [];
const problems: string[] = []; // console errors, page errors and requests that left the file system, on every page

async function open(hash = "", options: { now?: string; javaScript?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: options.javaScript ?? true });
  contexts.push(context);
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("request", (request) => {
    if (!request.url().startsWith(PAGE)) problems.push(`request: ${request.url()}`);
  });
  if (options.now) await page.clock.setFixedTime(new Date(options.now));
  await page.goto(PAGE + hash);
  return page;
}

/** The event types whose article is shown, in page order. */
const shown = (page: Page) => page.$$eval("article.event:not([hidden])", (list) => list.map((a) => (a as HTMLElement).dataset["type"]));
const indexed = (page: Page) =>
  page.$$eval("#index tr[data-type]:not([hidden])", (list) => list.map((r) => (r as HTMLElement).dataset["type"]));
const shot = (page: Page, name: string) => page.screenshot({ path: `${IMAGES}contracts-catalog${name}.png` });

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  browser = await chromium.launch({ executablePath: CHROMIUM });
});

afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
});

describe("the event catalog page", { timeout: 60_000 }, () => {
  it("lists every event type, draws the diagram as SVG, and loads nothing but itself", async () => {
    const page = await open();
    expect(await shown(page)).toEqual(all);
    expect(await indexed(page)).toEqual(all);
    await expect.poll(() => page.textContent("#count")).toBe(`${all.length} of ${all.length} event types`);
    expect(await page.isVisible("#filters")).toBe(true);
    const box = await page.locator("#domain-diagram").boundingBox();
    expect(box!.width).toBeGreaterThan(600);
    expect(box!.height).toBeGreaterThan(400);
    const producers = [...new Set(all.map((t) => registry.getRegistration(t).producer))];
    const consumers = [...new Set(all.flatMap((t) => registry.getRegistration(t).consumers))];
    expect(
      (await page.$$eval('#domain-diagram .node[data-side="producer"]', (n) => n.map((e) => e.getAttribute("data-domain")))).sort(),
    ).toEqual(producers.sort());
    expect(
      (await page.$$eval('#domain-diagram .node[data-side="consumer"]', (n) => n.map((e) => e.getAttribute("data-domain")))).sort(),
    ).toEqual(consumers.sort());
    const flows = new Set(
      all.flatMap((t) => registry.getRegistration(t).consumers.map((c) => `${registry.getRegistration(t).producer} -> ${c}`)),
    );
    const edges = await page.$$eval("#domain-diagram .edge", (list) =>
      list.map((e) => `${e.getAttribute("data-from")} -> ${e.getAttribute("data-to")}`),
    );
    expect(edges.sort()).toEqual([...flows].sort());
    expect(await page.textContent("body")).not.toContain("flowchart LR");
    await shot(page, "");
    expect(problems).toEqual([]);
  });

  it("searches names, registry notes, descriptions and fields (every word must match); says when nothing does", async () => {
    // What the page searches, for words: the type, its parties and contract, the registry notes and the schemas' text.
    const text = (type: string) => {
      const r = registry.getRegistration(type);
      const schemas = r.schema_versions.map((v) => (v.payload_schema ? JSON.stringify(registry.readSchema(v.payload_schema)) : ""));
      return [type, r.producer, ...r.consumers, r.owning_contract, ...r.schema_versions.map((v) => v.notes), ...schemas]
        .join(" ")
        .toLowerCase();
    };
    const matching = (q: string) => all.filter((t) => q.split(" ").every((word) => text(t).includes(word)));
    const page = await open();
    await page.fill("#q", "voicemail");
    expect(matching("voicemail")).toEqual(["lead.reached", "platform.comms.inbound"]);
    await expect.poll(() => shown(page)).toEqual(matching("voicemail"));
    expect(await indexed(page)).toEqual(matching("voicemail"));
    expect(await page.textContent("#count")).toBe(`2 of ${all.length} event types`);
    await page.fill("#q", "Market  revision archived");
    expect(matching("market revision archived")).toContain("geography.market.archived");
    await expect.poll(() => shown(page)).toEqual(matching("market revision archived"));
    await page.fill("#q", "no event says xyzzy");
    await expect.poll(() => shown(page)).toEqual([]);
    expect(await page.isVisible("#empty")).toBe(true);
    await page.click("#clear");
    await expect.poll(() => shown(page)).toEqual(all);
    expect(await page.isVisible("#empty")).toBe(false);
    expect(problems).toEqual([]);
  });

  it("filters by domain, producer and consumer, alone and together", async () => {
    const page = await open();
    await page.selectOption("#producer", "revenue");
    await expect.poll(() => shown(page)).toEqual(where((p) => p === "revenue"));
    await page.selectOption("#producer", "");
    await page.selectOption("#consumer", "coaching");
    await expect.poll(() => shown(page)).toEqual(where((_, c) => c.includes("coaching")));
    await page.selectOption("#producer", "platform");
    await expect.poll(() => shown(page)).toEqual(where((p, c) => p === "platform" && c.includes("coaching")));
    expect(await indexed(page)).toEqual(await shown(page));
    await page.click("#clear");
    await page.selectOption("#domain", "coaching");
    await expect.poll(() => shown(page)).toEqual(where((p, c) => p === "coaching" || c.includes("coaching")));
    expect(problems).toEqual([]);
  });

  it("filters by field name and marks the matching rows", async () => {
    const page = await open();
    await page.fill("#field", "lesson_hold_id");
    const expected = all.filter((t) => fieldsOf(t).some((f) => f.includes("lesson_hold_id")));
    expect(expected).toEqual([
      "coaching.lesson.confirmation_decided",
      "delivery.lesson-hold.cancelled",
      "delivery.lesson-hold.created",
      "lead.coach.confirmation.requested",
    ]);
    await expect.poll(() => shown(page)).toEqual(expected);
    const hits = await page.$$eval("article.event:not([hidden]) tr.hit", (rows) => rows.map((r) => r.getAttribute("data-field")));
    expect(hits).toEqual(["lessons[].lesson_hold_id", "lesson_hold_id", "lesson_hold_id", "lesson_holds[].lesson_hold_id"]);
    await page.locator('[id="event-lead.coach.confirmation.requested"]').evaluate((a) => a.scrollIntoView());
    await shot(page, "-field");
    expect(problems).toEqual([]);
  });

  it("shows each version's full field table, its registry facts and a valid example from the fixtures", async () => {
    const page = await open("#event-intake.matched", { now: "2026-12-10T12:00:00Z" });
    const article = page.locator('[id="event-intake.matched"]');
    await expect.poll(() => article.isVisible()).toBe(true);
    expect(await article.locator(".parties .domain").allTextContents()).toEqual(["platform", "growth", "sales", "platform-warehouse"]);
    const versions = article.locator("section.version");
    expect(await versions.count()).toBe(2);
    const v2 = versions.nth(1);
    expect((await v2.locator("h4").textContent())!.replace(/\s+/g, " ").trim()).toBe("v2 active · active from 2026-12-16");
    const row = (path: string) => v2.locator(`tr[data-field="${path}"] td`).allTextContents();
    const tidy = async (path: string) => (await row(path)).map((c) => c.replace(/\s+/g, " ").trim());
    expect(await tidy("submission.zip")).toEqual(["submission.zip", "string", "", "^[0-9]{5}$", "yes", "", "Five-digit ZIP code."]);
    expect(await tidy("form_submission_id")).toEqual([
      "form_submission_id",
      "string",
      "",
      "^fsm_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
      "yes",
      "",
      "The intake that was matched (intake.captured's subject).",
    ]);
    expect(await tidy("visitor_id")).toEqual([
      "visitor_id",
      "string | null",
      "",
      "",
      "yes",
      "min length 1",
      "Cross-device attribution visitor id, when known (as intake.captured v2).",
    ]);
    expect(await tidy("matched_at")).toEqual(["matched_at", "string", "date-time", "", "yes", "", "When the match was made."]);
    expect(await v2.locator("tr[data-field]").count()).toBe(
      flattenFields(registry.readSchema("contracts/identity/schema/payloads/intake.matched-v2.json")).length,
    );
    await v2.locator("details.example summary").click();
    const example = JSON.parse((await v2.locator("details.example pre").textContent())!);
    expect(example).toEqual(JSON.parse(readFileSync("fixtures/intake.matched-v2/valid-full.json", "utf8")).payload);
    // on 2026-12-10 a publish without schema_version gets v1; from 2026-12-16, v2 (resolveSchemaVersion)
    expect(await article.locator("section.version:has(.current)").getAttribute("data-version")).toBe("1");
    const later = await open("#event-intake.matched", { now: "2026-12-20T12:00:00Z" });
    expect(await later.locator('[id="event-intake.matched"] section.version:has(.current)').getAttribute("data-version")).toBe("2");
    await article.evaluate((a) => a.scrollIntoView());
    await shot(page, "-event");
    expect(problems).toEqual([]);
  });

  it("the diagram picks filters: a producer, a consumer (a second click clears it), a flow; keyboard too", async () => {
    const page = await open();
    await page.click('#domain-diagram .node[data-side="producer"][data-domain="delivery"]');
    await expect.poll(() => shown(page)).toEqual(where((p) => p === "delivery"));
    expect(await page.inputValue("#producer")).toBe("delivery");
    await page.click('#domain-diagram .node[data-side="producer"][data-domain="delivery"]');
    await expect.poll(() => shown(page)).toEqual(all);
    await page.click('#domain-diagram .edge[data-from="platform"][data-to="coaching"] rect');
    const flow = where((p, c) => p === "platform" && c.includes("coaching"));
    await expect.poll(() => shown(page)).toEqual(flow);
    expect(await page.getAttribute('#domain-diagram .edge[data-from="platform"][data-to="coaching"]', "data-count")).toBe(
      String(flow.length),
    );
    expect(await page.$$eval("#domain-diagram .edge:not(.dimmed)", (list) => list.length)).toBe(1);
    await page.click("#clear");
    await page.focus('#domain-diagram .node[data-side="consumer"][data-domain="revenue"]');
    await page.keyboard.press("Enter");
    await expect.poll(() => shown(page)).toEqual(where((_, c) => c.includes("revenue")));
    expect(await page.inputValue("#consumer")).toBe("revenue");
    expect(problems).toEqual([]);
  });

  it("keeps the filters in the link: opening it shows the same selection", async () => {
    const page = await open();
    await page.selectOption("#producer", "sales");
    await page.fill("#field", "person_id");
    await expect.poll(() => new URL(page.url()).hash).toBe("#producer=sales&field=person_id");
    const expected = await shown(page);
    expect(expected).toEqual(where((p) => p === "sales").filter((t) => fieldsOf(t).some((f) => f.includes("person_id"))));
    const again = await open("#producer=sales&field=person_id");
    await expect.poll(() => shown(again)).toEqual(expected);
    expect([await again.inputValue("#producer"), await again.inputValue("#field")]).toEqual(["sales", "person_id"]);
    await page.click("#clear");
    await expect.poll(() => new URL(page.url()).hash).toBe("");
    expect(problems).toEqual([]);
  });

  it("without JavaScript: every event type and the diagram still show; the inert filters do not", async () => {
    const page = await open("", { javaScript: false });
    expect(await shown(page)).toEqual(all);
    expect(await page.isVisible("#filters")).toBe(false);
    expect(await page.isVisible("#domain-diagram")).toBe(true);
    expect(problems).toEqual([]);
  });
});
