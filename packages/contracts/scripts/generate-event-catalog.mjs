// Generates the event catalog from the registry, the payload schemas and their fixtures:
// - catalog/event-catalog.html: a page to search and filter (domain, producer, consumer, field name), every version's full field
//   table and a valid example, and the domain diagram as an SVG drawn here (the page loads nothing from the network);
// - catalog/event-catalog.md: the same content for reading in the repository (the diagram in mermaid and as domain-diagram.svg);
// - catalog/domain-diagram.svg: the diagram alone.
// `node scripts/generate-event-catalog.mjs --check` exits 1 when a checked-in file is stale.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatted } from "./generate-catalog.mjs";
import { renderSvg as drawDiagram } from "./catalog-page/diagram.mjs";
import { esc, h, plural } from "./catalog-page/markup.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pageAssets = join(root, "scripts/catalog-page");

/** The domains in diagram order: the closed set, then the warehouse loader. */
export const DOMAIN_ORDER = ["platform", "growth", "sales", "delivery", "revenue", "coaching", "platform-warehouse"];

/** One row per field: nested object fields as `parent.child`, fields of array items as `parent[].child`. */
export function flattenFields(schema, prefix = "") {
  const rows = [];
  for (const [name, p] of Object.entries(schema.properties ?? {})) {
    const path = prefix + name;
    const items = p.type === "array" ? (p.items ?? {}) : undefined;
    const types = [].concat(p.type ?? (p.enum ? "enum" : p.const !== undefined ? typeof p.const : "any"));
    const type = items ? `array of ${[].concat(items.type ?? "any").join(" | ")}` : types.join(" | ");
    rows.push({
      path,
      depth: prefix ? prefix.split(/\.|\[\]\./).length - 1 : 0,
      type,
      format: p.format ?? items?.format ?? "",
      pattern: p.pattern ?? items?.pattern ?? "",
      required: (schema.required ?? []).includes(name),
      constraints: constraints(p, items),
      description: p.description ?? items?.description ?? "",
    });
    if (p.properties) rows.push(...flattenFields(p, `${path}.`));
    if (items?.properties) rows.push(...flattenFields(items, `${path}[].`));
  }
  return rows;
}

function constraints(p, items) {
  const out = [];
  const values = (list) => list.map((v) => (v === null ? "null" : String(v))).join(", ");
  if (p.enum) out.push(`one of ${values(p.enum)}`);
  if (p.const !== undefined) out.push(`always ${p.const}`);
  for (const [key, label] of [
    ["minLength", "min length"],
    ["maxLength", "max length"],
    ["minimum", ">="],
    ["maximum", "<="],
    ["minItems", "min items"],
    ["maxItems", "max items"],
  ])
    if (p[key] !== undefined) out.push(`${label} ${p[key]}`);
  if (p.uniqueItems) out.push("unique items");
  if (items?.enum) out.push(`each one of ${values(items.enum)}`);
  if (items?.minLength !== undefined) out.push(`each min length ${items.minLength}`);
  return out.join("; ");
}

function firstValidFixture(name) {
  const dir = join(root, "fixtures", name);
  if (!existsSync(dir)) return null;
  for (const file of readdirSync(dir).sort()) {
    const fixture = JSON.parse(readFileSync(join(dir, file), "utf8"));
    if (fixture.valid) return { file: `fixtures/${name}/${file}`, payload: fixture.payload };
  }
  return null;
}

export function model() {
  const registry = JSON.parse(readFileSync(join(root, "contracts/event-types-registry.json"), "utf8"));
  const events = Object.entries(registry.events)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, r]) => {
      const versions = r.schema_versions.map((v) => {
        const schema = v.payload_schema ? JSON.parse(readFileSync(join(root, v.payload_schema), "utf8")) : null;
        const name = `${type}-v${v.version}`;
        return {
          version: v.version,
          status: v.status,
          registeredAt: v.registered_at,
          activeFrom: v.active_from ?? null,
          deprecatedAt: v.deprecated_at ?? null,
          notes: v.notes ?? "",
          schema: v.payload_schema,
          description: schema?.description ?? "",
          fields: schema ? flattenFields(schema) : null,
          example: schema ? firstValidFixture(name) : null,
        };
      });
      return {
        type,
        producer: r.producer,
        consumers: r.consumers,
        contract: r.owning_contract,
        versions,
      };
    });
  const flows = new Map();
  for (const e of events)
    for (const c of e.consumers) {
      const key = `${e.producer} -> ${c}`;
      flows.set(key, [...(flows.get(key) ?? []), e.type]);
    }
  const used = new Set(events.flatMap((e) => [e.producer, ...e.consumers]));
  return {
    version: registry.registry_version,
    events,
    flows: [...flows.entries()].sort(([a], [b]) => a.localeCompare(b)),
    domains: [...DOMAIN_ORDER.filter((d) => used.has(d)), ...[...used].filter((d) => !DOMAIN_ORDER.includes(d)).sort()],
    schemaCount: events.reduce((n, e) => n + e.versions.filter((v) => v.schema).length, 0),
  };
}

/** The domain diagram (scripts/catalog-page/diagram.mjs). */
export const renderSvg = (m = model()) => drawDiagram(m);

// ------------------------------------------------------------------------------------------------ Markdown

const mermaid = (m) =>
  [
    "flowchart LR",
    ...m.flows.map(([k, types]) => {
      const [from, to] = k.split(" -> ");
      return `  ${from.replace(/-/g, "_")}[${from}] -- ${plural(types.length, "event type")} --> ${to.replace(/-/g, "_")}[${to}]`;
    }),
  ].join("\n");

/** GitHub's heading anchor. */
const slug = (heading) =>
  heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, "")
    .replace(/ /g, "-");
const cell = (s) => String(s).replace(/\|/g, "\\|").replace(/\n/g, " ");

function versionLine(v) {
  const parts = [`**v${v.version}**: ${v.status}`];
  parts.push(v.activeFrom ? `active from ${v.activeFrom}` : `registered ${v.registeredAt}`);
  if (v.deprecatedAt) parts.push(`deprecated from ${v.deprecatedAt}`);
  parts.push(v.schema ? `schema \`${v.schema}\`` : "no payload schema yet");
  return parts.join("; ");
}

const row = (cells) => `| ${cells.join(" | ")} |`;
const versionsText = (e) => e.versions.map((v) => `v${v.version} ${v.status}${v.schema ? "" : " (no schema)"}`).join(", ");
const summary = (m) => `registry ${m.version}: ${plural(m.events.length, "event type")}, ${plural(m.schemaCount, "payload schema")}`;

export async function renderMarkdown(m = model()) {
  const lines = [
    "# Sguild event catalog",
    "",
    `Generated from \`contracts/event-types-registry.json\` (${summary(m)}) by \`scripts/generate-event-catalog.mjs\`; do not edit.`,
    "The same catalog as a page to search and filter: `event-catalog.html`.",
    "",
    "## Who sends what to whom",
    "",
    "![Who sends what to whom](domain-diagram.svg)",
    "",
    "```mermaid",
    mermaid(m),
    "```",
    "",
    "| producer -> consumer | event types |",
    "| --- | --- |",
  ];
  for (const [k, types] of m.flows) lines.push(row([k, types.join(", ")]));
  lines.push("", "## Event types", "", "| event type | producer | consumers | versions |", "| --- | --- | --- | --- |");
  for (const e of m.events) lines.push(row([`[${e.type}](#${slug(e.type)})`, e.producer, e.consumers.join(", ") || "-", versionsText(e)]));
  for (const e of m.events) {
    lines.push("", `### ${e.type}`, "", `Producer **${e.producer}**; consumers ${e.consumers.join(", ") || "none yet"}.`);
    if (e.contract) lines.push(`Owning contract \`${e.contract}\`.`);
    for (const v of e.versions) {
      lines.push("", versionLine(v));
      if (v.notes) lines.push("", `Registry notes: ${v.notes}`);
      if (v.description) lines.push("", v.description);
      if (v.fields) {
        lines.push("", row(FIELD_COLUMNS), row(FIELD_COLUMNS.map(() => "---")));
        for (const f of v.fields) {
          const code = (s) => (s ? `\`${cell(s)}\`` : "");
          const required = f.required ? "yes" : "no";
          lines.push(row([code(f.path), cell(f.type), f.format, code(f.pattern), required, cell(f.constraints), cell(f.description)]));
        }
      }
      if (v.example) {
        lines.push("", `Example (\`${v.example.file}\`):`, "", "```json", JSON.stringify(v.example.payload, null, 2), "```");
      }
    }
  }
  return lines.join("\n") + "\n";
}

// ------------------------------------------------------------------------------------------------ the page

const FIELD_COLUMNS = ["field", "type", "format", "pattern", "required", "constraints", "description"];
const domainBadge = (d, role) => h("span", { class: "domain", "data-domain": d, "data-role": role }, esc(d));
const table = (attributes, columns, rows) =>
  h(
    "table",
    attributes,
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        columns.map((c) => h("th", {}, esc(c))),
      ),
    ),
    h("tbody", {}, rows),
  );

function fieldTable(fields) {
  const rows = fields.map((f) =>
    h(
      "tr",
      { "data-field": f.path },
      h("td", { class: `field depth-${f.depth}` }, h("code", {}, esc(f.path))),
      h("td", {}, esc(f.type)),
      h("td", {}, esc(f.format)),
      h("td", { class: "pattern" }, f.pattern && h("code", {}, esc(f.pattern))),
      h("td", {}, f.required ? "yes" : "no"),
      h("td", {}, esc(f.constraints)),
      h("td", {}, esc(f.description)),
    ),
  );
  return table({ class: "fields" }, FIELD_COLUMNS, rows);
}

// The page marks, when it is viewed, the version a publish without schema_version gets (resolveSchemaVersion): the highest
// active version whose active_from has passed.
function versionSection(v) {
  const facts = [
    h("span", { class: `status status-${v.status}` }, esc(v.status)),
    esc(v.activeFrom ? `active from ${v.activeFrom}` : `registered ${v.registeredAt}`),
    v.deprecatedAt && esc(`deprecated from ${v.deprecatedAt}`),
  ].filter(Boolean);
  const example =
    v.example &&
    h(
      "details",
      { class: "example" },
      h("summary", {}, "Example payload ", h("code", {}, esc(v.example.file))),
      `<pre><code>${esc(JSON.stringify(v.example.payload, null, 2))}</code></pre>`,
    );
  return h(
    "section",
    { class: "version", "data-version": v.version, "data-status": v.status, "data-active-from": v.activeFrom ?? undefined },
    h("h4", {}, `v${v.version} ${facts.join(" · ")}`),
    v.schema
      ? h("p", { class: "schema-path" }, "Schema ", h("code", {}, esc(v.schema)))
      : h("p", { class: "no-schema" }, "No payload schema yet: publishing it is refused (NO_PAYLOAD_SCHEMA)."),
    v.description && h("p", { class: "description" }, esc(v.description)),
    v.notes && h("p", { class: "notes" }, h("b", {}, "Registry notes:"), esc(v.notes)),
    v.fields && fieldTable(v.fields),
    example,
  );
}

function eventArticle(e) {
  const consumers = e.consumers.length
    ? e.consumers.map((c) => domainBadge(c, "consumer")).join(" ")
    : h("span", { class: "none" }, "none yet");
  const contract = e.contract ? `; owning contract ${h("code", {}, esc(e.contract))}` : "";
  const attributes = {
    class: "event",
    id: `event-${e.type}`,
    "data-type": e.type,
    "data-producer": e.producer,
    "data-consumers": e.consumers.join(" "),
  };
  return h(
    "article",
    attributes,
    h("h3", {}, h("a", { href: `#event-${e.type}` }, esc(e.type))),
    h("p", { class: "parties" }, `Produced by ${domainBadge(e.producer, "producer")}, consumed by ${consumers}${contract}.`),
    e.versions.map(versionSection),
  );
}

const select = (id, values) =>
  h(
    "select",
    { id },
    h("option", { value: "" }, "any"),
    values.map((v) => h("option", { value: v }, esc(v))),
  );
const eventLink = (type) => h("a", { href: `#event-${type}` }, esc(type));

export async function renderHtml(m = model()) {
  const producers = m.domains.filter((d) => m.events.some((e) => e.producer === d));
  const consumers = m.domains.filter((d) => m.events.some((e) => e.consumers.includes(d)));
  const lastSegment = (path) => path.split(/\.|\[\]\./).pop();
  const fieldNames = [...new Set(m.events.flatMap((e) => e.versions.flatMap((v) => (v.fields ?? []).map((f) => lastSegment(f.path)))))];
  const flowTable = table(
    { class: "flows" },
    ["producer", "consumer", "event types"],
    m.flows.map(([k, types]) => {
      const [from, to] = k.split(" -> ");
      return h("tr", {}, h("td", {}, esc(from)), h("td", {}, esc(to)), h("td", {}, types.map(eventLink).join(", ")));
    }),
  );
  const index = table(
    { class: "index" },
    ["event type", "producer", "consumers", "versions"],
    m.events.map((e) =>
      h(
        "tr",
        { "data-type": e.type },
        h("td", {}, eventLink(e.type)),
        h("td", {}, esc(e.producer)),
        h("td", {}, esc(e.consumers.join(", ") || "-")),
        h("td", {}, esc(versionsText(e))),
      ),
    ),
  );
  const label = (text, control) => h("label", {}, text, control);
  const search = (id, placeholder, list) => h("input", { type: "search", id, placeholder, list, autocomplete: "off" });
  const filters = h(
    "section",
    { id: "filters", role: "search", "aria-label": "Filter the event types", hidden: true },
    h("h2", {}, "Event types"),
    h(
      "div",
      { class: "controls" },
      label("Search", search("q", "event type, field, description")),
      label("Domain", select("domain", m.domains)),
      label("Producer", select("producer", producers)),
      label("Consumer", select("consumer", consumers)),
      label("Field name", search("field", "e.g. lesson_id", "field-names")),
      h(
        "datalist",
        { id: "field-names" },
        fieldNames.sort().map((f) => h("option", { value: f })),
      ),
      h("button", { type: "button", id: "clear" }, "Clear"),
    ),
    h("p", { id: "count", "aria-live": "polite" }, `${m.events.length} of ${m.events.length} event types`),
    h("p", { id: "empty", hidden: true }, "No event type matches these filters."),
  );
  const body = h(
    "body",
    {},
    h(
      "header",
      {},
      h("h1", {}, "Sguild event catalog"),
      h(
        "p",
        { class: "meta" },
        `Generated from ${h("code", {}, "contracts/event-types-registry.json")} (${esc(summary(m))}),`,
        `the payload schemas and their fixtures by ${h("code", {}, "scripts/generate-event-catalog.mjs")}; do not edit.`,
      ),
    ),
    h(
      "section",
      { id: "diagram" },
      h("h2", {}, "Who sends what to whom"),
      h(
        "p",
        { class: "hint" },
        "Each flow is labelled with the number of event types a producer sends a consumer; hover it for their names.",
        "Select a producer, a consumer or a flow to filter the event types below.",
      ),
      renderSvg(m),
      h("details", {}, h("summary", {}, "The same as a table"), flowTable),
    ),
    filters,
    h("nav", { id: "index", "aria-label": "Event types" }, index),
    h("main", { id: "events" }, m.events.map(eventArticle)),
    h("script", {}, readFileSync(join(pageAssets, "catalog.js"), "utf8")),
  );
  const head = h(
    "head",
    {},
    h("meta", { charset: "utf-8" }),
    h("meta", { name: "viewport", content: "width=device-width, initial-scale=1" }),
    h("title", {}, "Sguild event catalog"),
    h("style", {}, readFileSync(join(pageAssets, "catalog.css"), "utf8")),
  );
  const html = `<!doctype html>\n${h("html", { lang: "en" }, head, body)}\n`;
  return formatted(join(root, "catalog/event-catalog.html"), html);
}

export async function renderAll(m = model()) {
  return {
    "catalog/event-catalog.md": await renderMarkdown(m),
    "catalog/event-catalog.html": await renderHtml(m),
    "catalog/domain-diagram.svg": renderSvg(m),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outputs = await renderAll();
  const stale = [];
  for (const [file, text] of Object.entries(outputs)) {
    if (process.argv.includes("--check")) {
      const current = existsSync(join(root, file)) ? readFileSync(join(root, file), "utf8") : "";
      if (current !== text) stale.push(file);
    } else writeFileSync(join(root, file), text);
  }
  if (stale.length) {
    console.error(`stale: ${stale.join(", ")}: run \`pnpm --filter @sguild/contracts generate\``);
    process.exit(1);
  }
  console.log(process.argv.includes("--check") ? "event catalog up to date" : `wrote ${Object.keys(outputs).join(", ")}`);
}
