// The event catalog page's behaviour (inlined into catalog/event-catalog.html by scripts/generate-event-catalog.mjs).
// Without it the page still shows every event type; with it: search and filters (kept in the URL's #fragment, so a
// filtered view can be linked), the diagram as a domain picker, and the version a publish gets today.
(function () {
  "use strict";
  const $ = (selector, from = document) => from.querySelector(selector);
  const $$ = (selector, from = document) => Array.from(from.querySelectorAll(selector));
  const controls = { q: $("#q"), domain: $("#domain"), producer: $("#producer"), consumer: $("#consumer"), field: $("#field") };
  const KEYS = Object.keys(controls);

  const events = $$("article.event").map((article) => ({
    article,
    type: article.dataset.type,
    producer: article.dataset.producer,
    consumers: article.dataset.consumers ? article.dataset.consumers.split(" ") : [],
    text: $$("h3, .parties, .description, .notes, table.fields", article)
      .map((el) => el.textContent)
      .join(" ")
      .toLowerCase(),
    rows: $$("tr[data-field]", article).map((row) => ({ row, path: row.dataset.field.toLowerCase() })),
    indexRow: $(`#index tr[data-type="${CSS.escape(article.dataset.type)}"]`),
  }));

  // The version resolveSchemaVersion gives today: the highest active version whose active_from has passed.
  const today = new Date().toISOString().slice(0, 10);
  for (const { article } of events) {
    const versions = $$("section.version", article).filter(
      (v) => v.dataset.status === "active" && (!v.dataset.activeFrom || v.dataset.activeFrom <= today),
    );
    const current = versions.sort((a, b) => Number(b.dataset.version) - Number(a.dataset.version))[0];
    if (!current) continue;
    const badge = document.createElement("span");
    badge.className = "current";
    badge.textContent = "published today";
    badge.title = "The version a publish without schema_version gets today (resolveSchemaVersion).";
    const heading = $("h4", current);
    heading.append(" · ", badge);
  }

  function state() {
    const s = {};
    for (const key of KEYS) s[key] = controls[key].value.trim();
    return s;
  }

  function matches(e, s) {
    if (s.domain && e.producer !== s.domain && !e.consumers.includes(s.domain)) return false;
    if (s.producer && e.producer !== s.producer) return false;
    if (s.consumer && !e.consumers.includes(s.consumer)) return false;
    if (s.field && !e.rows.some((r) => r.path.includes(s.field.toLowerCase()))) return false;
    return s.q
      .toLowerCase()
      .split(/\s+/)
      .filter(Boolean)
      .every((term) => e.text.includes(term));
  }

  function apply() {
    const s = state();
    let shown = 0;
    for (const e of events) {
      const visible = matches(e, s);
      e.article.hidden = !visible;
      if (e.indexRow) e.indexRow.hidden = !visible;
      if (visible) shown += 1;
      const term = s.field.toLowerCase();
      for (const r of e.rows) r.row.classList.toggle("hit", Boolean(term) && r.path.includes(term));
    }
    $("#count").textContent = `${shown} of ${events.length} event types`;
    $("#empty").hidden = shown > 0;
    for (const node of $$("#domain-diagram .node")) {
      const { domain, side } = node.dataset;
      node.classList.toggle("selected", domain === s.domain || domain === (side === "producer" ? s.producer : s.consumer));
    }
    for (const edge of $$("#domain-diagram .edge")) {
      const { from, to } = edge.dataset;
      const on =
        (!s.domain || from === s.domain || to === s.domain) && (!s.producer || from === s.producer) && (!s.consumer || to === s.consumer);
      edge.classList.toggle("dimmed", !on);
    }
    writeHash(s);
  }

  function writeHash(s) {
    const params = new URLSearchParams();
    for (const key of KEYS) if (s[key]) params.set(key, s[key]);
    const hash = params.toString();
    if (hash === location.hash.slice(1) || (!hash && !location.hash.includes("="))) return;
    const url = `${location.pathname}${location.search}${hash ? `#${hash}` : ""}`;
    try {
      history.replaceState(null, "", url);
    } catch {
      location.replace(`#${hash}`);
    }
  }

  function readHash() {
    if (!location.hash.includes("=")) return false;
    const params = new URLSearchParams(location.hash.slice(1));
    for (const key of KEYS) {
      const value = params.get(key) ?? "";
      const control = controls[key];
      if (control.tagName === "SELECT" && value && !$$("option", control).some((o) => o.value === value)) continue;
      control.value = value;
    }
    return true;
  }

  function set(values) {
    for (const key of KEYS) if (key in values) controls[key].value = values[key];
    apply();
    $("#filters").scrollIntoView({ block: "start" });
  }

  for (const key of KEYS) controls[key].addEventListener("input", apply);
  $("#clear").addEventListener("click", () => set({ q: "", domain: "", producer: "", consumer: "", field: "" }));
  // A producer node filters by producer, a consumer node by consumer (a second click clears it), a flow by both.
  const activate = (element, pick) => {
    element.addEventListener("click", pick);
    element.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        pick();
      }
    });
  };
  for (const node of $$("#domain-diagram .node")) {
    const key = node.dataset.side === "producer" ? "producer" : "consumer";
    activate(node, () => set({ domain: "", [key]: controls[key].value === node.dataset.domain ? "" : node.dataset.domain }));
  }
  for (const edge of $$("#domain-diagram .edge")) {
    activate(edge, () => set({ domain: "", producer: edge.dataset.from, consumer: edge.dataset.to }));
  }
  window.addEventListener("hashchange", () => {
    if (readHash()) apply();
  });

  $("#filters").hidden = false;
  readHash();
  apply();
})();
