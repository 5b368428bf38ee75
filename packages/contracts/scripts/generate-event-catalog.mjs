// Generates catalog/event-catalog.md and catalog/event-catalog.html from the registry and schemas.
// `node scripts/generate-event-catalog.mjs --check` exits 1 when the checked-in files are stale.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function model() {
  const registry = JSON.parse(readFileSync(join(root, "contracts/event-types-registry.json"), "utf8"));
  const events = Object.entries(registry.events)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, r]) => ({
      type,
      producer: r.producer,
      consumers: r.consumers,
      versions: r.schema_versions.map((v) => {
        const schema = v.payload_schema ? JSON.parse(readFileSync(join(root, v.payload_schema), "utf8")) : null;
        const fields = schema
          ? Object.entries(schema.properties).map(([name, p]) => ({
              name,
              type: [].concat(p.type ?? (p.enum ? "enum" : "any")).join(" | ") + (p.format ? ` (${p.format})` : ""),
              required: schema.required.includes(name),
              rule: p.enum
                ? `one of ${p.enum.filter((x) => x !== null).join(", ")}`
                : p.pattern
                  ? `pattern ${p.pattern.slice(0, 16)}…`
                  : p.minimum !== undefined
                    ? `>= ${p.minimum}`
                    : "",
            }))
          : null;
        return { version: v.version, status: v.status, activeFrom: v.active_from ?? v.registered_at, schema: v.payload_schema, fields };
      }),
    }));
  const flows = new Map();
  for (const e of events)
    for (const c of e.consumers) {
      const key = `${e.producer} -> ${c}`;
      flows.set(key, [...(flows.get(key) ?? []), e.type]);
    }
  return { version: registry.registry_version, events, flows: [...flows.entries()].sort(([a], [b]) => a.localeCompare(b)) };
}

const mermaid = (m) =>
  [
    "flowchart LR",
    ...m.flows.map(([k, types]) => {
      const [from, to] = k.split(" -> ");
      return (
        `  ${from.replace(/-/g, "_")}[${from}] -- ${types.length} event type${types.length > 1 ? "s" : ""} ` +
        `--> ${to.replace(/-/g, "_")}[${to}]`
      );
    }),
  ].join("\n");

export function renderMarkdown(m = model()) {
  const lines = [
    `# Sguild event catalog`,
    "",
    `Generated from \`contracts/event-types-registry.json\` (registry ${m.version}) ` +
      `by \`scripts/generate-event-catalog.mjs\`; do not edit.`,
    "",
    "## Who sends what to whom",
    "",
    "```mermaid",
    mermaid(m),
    "```",
    "",
    "| producer -> consumer | event types |",
    "| --- | --- |",
  ];
  for (const [k, types] of m.flows) lines.push(`| ${k} | ${types.join(", ")} |`);
  lines.push("", "## Event types", "", "| event type | producer | consumers | versions |", "| --- | --- | --- | --- |");
  for (const e of m.events)
    lines.push(
      `| [${e.type}](#${e.type.replace(/\./g, "")}) | ${e.producer} | ${e.consumers.join(", ") || "-"} | ` +
        `${e.versions.map((v) => `v${v.version} ${v.status}${v.schema ? "" : " (no schema)"}`).join(", ")} |`,
    );
  for (const e of m.events) {
    lines.push("", `### ${e.type}`, "", `Producer **${e.producer}**; consumers ${e.consumers.join(", ") || "none yet"}.`);
    for (const v of e.versions) {
      lines.push(
        "",
        `**v${v.version}**: ${v.status}, from ${v.activeFrom}${v.schema ? `; schema \`${v.schema}\`` : "; no payload schema yet"}`,
      );
      if (v.fields) {
        lines.push("", "| field | type | required | rule |", "| --- | --- | --- | --- |");
        for (const f of v.fields) lines.push(`| ${f.name} | ${f.type} | ${f.required ? "yes" : "no"} | ${f.rule.replace(/\|/g, "\\|")} |`);
      }
    }
  }
  return lines.join("\n") + "\n";
}

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const STYLE =
  "body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}" +
  "table{border-collapse:collapse;margin:.5rem 0}" +
  "th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}" +
  "code{font-size:.85rem}";

export function renderHtml(m = model()) {
  const domains = [...new Set(m.events.flatMap((e) => [e.producer, ...e.consumers]))].sort();
  const cell = (from, to) => m.flows.find(([k]) => k === `${from} -> ${to}`)?.[1] ?? [];
  const matrix = `<table><thead><tr><th>from \\ to</th>${domains.map((d) => `<th>${esc(d)}</th>`).join("")}</tr></thead><tbody>${domains
    .map((from) => `<tr><th>${esc(from)}</th>${domains.map((to) => `<td>${cell(from, to).map(esc).join("<br>")}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
  const fieldRow = (f) =>
    `<tr><td><code>${esc(f.name)}</code></td><td>${esc(f.type)}</td><td>${f.required ? "yes" : "no"}</td><td>${esc(f.rule)}</td></tr>`;
  const fieldTable = (fields) =>
    "<table><thead><tr><th>field</th><th>type</th><th>required</th><th>rule</th></tr></thead>" +
    `<tbody>${fields.map((f) => fieldRow(f)).join("")}</tbody></table>`;
  const version = (v) =>
    `<h4>v${v.version}: ${esc(v.status)}, from ${esc(v.activeFrom)}</h4>` +
    (v.fields ? fieldTable(v.fields) : "<p>No payload schema yet.</p>");
  const sections = m.events.map(
    (e) =>
      `<section id="${esc(e.type)}"><h3>${esc(e.type)}</h3>` +
      `<p>Producer <b>${esc(e.producer)}</b>; consumers ${esc(e.consumers.join(", ") || "none yet")}.</p>` +
      `${e.versions.map((v) => version(v)).join("")}</section>`,
  );
  const eventRow = (e) =>
    `<tr><td><a href="#${esc(e.type)}">${esc(e.type)}</a></td><td>${esc(e.producer)}</td><td>${esc(e.consumers.join(", ") || "-")}</td>` +
    `<td>${e.versions.map((v) => `v${v.version} ${esc(v.status)}`).join(", ")}</td></tr>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sguild event catalog</title>
<style>${STYLE}</style></head>
<body><h1>Sguild event catalog</h1><p>Generated from the event-type registry ${esc(m.version)}; do not edit.</p>
<h2>Who sends what to whom</h2>${matrix}
<pre class="mermaid">${esc(mermaid(m))}</pre>
<h2>Event types</h2><table><thead><tr><th>event type</th><th>producer</th><th>consumers</th><th>versions</th></tr></thead><tbody>${m.events
    .map((e) => eventRow(e))
    .join("")}</tbody></table>
${sections.join("\n")}
</body></html>
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const m = model();
  const outputs = { "catalog/event-catalog.md": renderMarkdown(m), "catalog/event-catalog.html": renderHtml(m) };
  let stale = false;
  for (const [file, text] of Object.entries(outputs)) {
    if (process.argv.includes("--check")) {
      let current = "";
      try {
        current = readFileSync(join(root, file), "utf8");
      } catch {}
      if (current !== text) stale = true;
    } else writeFileSync(join(root, file), text);
  }
  if (stale) {
    console.error("the event catalog is stale: run `pnpm --filter @sguild/contracts generate`");
    process.exit(1);
  }
}
