// The operator console's page: plain DOM, no framework, no build step. Everything it shows comes
// from the JSON API next to it (api/...) and is written with textContent or setAttribute, never
// parsed as HTML. Routes live in the hash: #/, #/consumers/{name}, #/dead-letters,
// #/dead-letters/groups/{fingerprint}?consumer=, #/dead-letters/{id}, #/events, #/events/{id},
// #/flows/{correlationId}, #/tail.
"use strict";

(() => {
  const app = document.getElementById("app");
  const outcomeBox = document.getElementById("outcome");
  const operatorInput = document.getElementById("operator");
  const OPERATOR_KEY = "sguild-console.operator";
  const SVG = "http://www.w3.org/2000/svg";
  let renderCount = 0;
  let cleanup = null;

  // ---- DOM helpers: text is always a text node, attributes always setAttribute ----

  function h(tag, attrs, ...children) {
    return fill(document.createElement(tag), attrs, children);
  }
  function s(tag, attrs, ...children) {
    return fill(document.createElementNS(SVG, tag), attrs, children);
  }
  function fill(el, attrs, children) {
    for (const [name, value] of Object.entries(attrs ?? {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
      else if (name === "value" || name === "checked") el[name] = value;
      else el.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }
  const link = (href, label, attrs) => h("a", { href, ...attrs }, label);
  const enc = encodeURIComponent;
  const consumerHref = (name) => `#/consumers/${enc(name)}`;
  const eventHref = (id) => `#/events/${enc(id)}`;
  const flowHref = (id) => `#/flows/${enc(id)}`;
  const letterHref = (id) => `#/dead-letters/${enc(id)}`;
  const groupHref = (consumer, fingerprint) => `#/dead-letters/groups/${enc(fingerprint)}?consumer=${enc(consumer)}`;

  // ---- formatting ----

  const count = (n) => Number(n ?? 0).toLocaleString("en-US");
  const plural = (n, one, many = `${one}s`) => `${count(n)} ${Number(n) === 1 ? one : many}`;
  function time(value) {
    if (!value) return "—";
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? String(value) : `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
  }
  function duration(seconds) {
    const n = Math.max(0, Math.round(Number(seconds ?? 0)));
    if (n < 60) return `${n} s`;
    if (n < 3600) return `${Math.floor(n / 60)} min${n % 60 ? ` ${n % 60} s` : ""}`;
    if (n < 86400) return `${Math.floor(n / 3600)} h${Math.floor((n % 3600) / 60) ? ` ${Math.floor((n % 3600) / 60)} min` : ""}`;
    return `${Math.floor(n / 86400)} d${Math.floor((n % 86400) / 3600) ? ` ${Math.floor((n % 86400) / 3600)} h` : ""}`;
  }
  const ago = (value) => (value ? `${duration((Date.now() - new Date(value).getTime()) / 1000)} ago` : "never");
  const when = (value) => h("time", { datetime: value ?? undefined, title: value ? time(value) : undefined }, value ? ago(value) : "never");
  const pretty = (value) => JSON.stringify(value, null, 2);
  /** A flow step's offset from the first: milliseconds below a minute, then as duration(). */
  const since = (ms) => (ms < 60000 ? `+${(ms / 1000).toFixed(3)} s` : `+${duration(ms / 1000)}`);

  // ---- the API ----

  class ApiError extends Error {
    constructor(status, code, message, field) {
      super(message);
      Object.assign(this, { status, code, field });
    }
  }

  async function api(path, body) {
    const init = {
      method: body === undefined ? "GET" : "POST",
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.headers["X-Sguild-Console"] = "1";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(`api/${path}`, init);
    } catch {
      throw new ApiError(0, "UNREACHABLE", "the console did not answer (is the app running?)");
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = data?.error ?? {};
      throw new ApiError(response.status, error.code ?? `HTTP_${response.status}`, error.message ?? response.statusText, error.field);
    }
    return data;
  }
  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
    const text = q.toString();
    return text ? `?${text}` : "";
  }

  // ---- operator name, outcome messages, dialogs ----

  operatorInput.value = localStorage.getItem(OPERATOR_KEY) || "console";
  operatorInput.addEventListener("change", () => {
    const name = operatorInput.value.trim();
    if (name) localStorage.setItem(OPERATOR_KEY, name);
    else localStorage.removeItem(OPERATOR_KEY);
    operatorInput.value = name || "console";
  });
  const by = () => operatorInput.value.trim() || "console";

  function showOutcome(kind, title, lines = []) {
    outcomeBox.className = `outcome ${kind}`;
    outcomeBox.replaceChildren(
      h("strong", {}, title),
      h(
        "ul",
        { hidden: lines.length === 0 },
        lines.map((line) => h("li", {}, line)),
      ),
      h("button", { type: "button", class: "plain", "aria-label": "Dismiss", onclick: () => (outcomeBox.hidden = true) }, "×"),
    );
    outcomeBox.hidden = false;
  }
  const refusal = (error) =>
    error instanceof ApiError
      ? `${error.status ? `${error.status} ` : ""}${error.code}: ${error.message}`
      : String(error?.message ?? error);

  /** Runs an operation, shows what came of it (or why it was refused), then redraws the page. */
  /**
   * Runs an operation, redraws the page (or goes on with `after` when it succeeded), then shows
   * what came of it (or why it was refused); answers the result.
   */
  async function act(what, run, describe, after = route) {
    showOutcome("info", `${what}…`);
    let result;
    let outcome;
    try {
      result = await run();
      outcome = ["ok", ...describe(result)];
    } catch (error) {
      outcome = ["error", `${what} refused: ${refusal(error)}`, []];
    }
    await (outcome[0] === "ok" ? after() : route());
    showOutcome(...outcome);
    return result;
  }

  /** Redraws the page in a moment unless the operator has gone elsewhere (a requested replay is done by the consumer's own process). */
  function refreshSoon() {
    const shown = renderCount;
    setTimeout(() => shown === renderCount && route(), 2000);
  }

  /** A modal dialog; resolves with true when confirmed. `ready()` may keep the confirm button disabled. */
  function confirmDialog({ title, body, confirmLabel, danger = false, ready = () => true, extraButtons = [] }) {
    return new Promise((resolve) => {
      const confirmButton = h("button", { type: "button", class: danger ? "danger" : "primary" }, confirmLabel);
      const cancelButton = h("button", { type: "button" }, "Cancel");
      const dialog = h(
        "dialog",
        { class: "dialog", "aria-label": title },
        h("h2", {}, title),
        h("div", { class: "dialog-body" }, body),
        h("div", { class: "buttons" }, extraButtons, cancelButton, confirmButton),
      );
      const update = () => (confirmButton.disabled = !ready());
      dialog.addEventListener("input", update);
      const done = (value) => {
        dialog.close();
        dialog.remove();
        resolve(value);
      };
      confirmButton.addEventListener("click", () => ready() && done(true));
      cancelButton.addEventListener("click", () => done(false));
      dialog.addEventListener("cancel", (event) => {
        event.preventDefault();
        done(false);
      });
      document.body.append(dialog);
      update();
      dialog.showModal();
    });
  }
  const field = (label, input, hint) =>
    h("label", { class: "field" }, h("span", {}, label), input, hint ? h("small", { class: "muted" }, hint) : null);

  // ---- page states ----

  function refusedState(error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      const signIn = error.status === 401;
      return h(
        "section",
        { class: "refused", "data-status": error.status },
        h("h1", {}, signIn ? "Sign in required (401)" : "Not allowed (403)"),
        h(
          "p",
          {},
          signIn
            ? "The console needs you to be signed in to this app. Sign in, then reload this page."
            : "Your account may not see this page of the console.",
        ),
        h("p", { class: "muted" }, refusal(error)),
      );
    }
    if (error instanceof ApiError && error.status === 404) {
      return h(
        "section",
        { class: "refused", "data-status": 404 },
        h("h1", {}, "Not found"),
        h("p", {}, error.message),
        h("p", {}, link("#/", "Back to the overview")),
      );
    }
    return h(
      "section",
      { class: "refused" },
      h("h1", {}, "The console could not load this page"),
      h("p", { class: "muted" }, refusal(error)),
    );
  }

  const badge = (text, kind = "") => h("span", { class: `badge ${kind}`.trim() }, text);
  const table = (head, rows, empty, attrs = {}) =>
    rows.length
      ? h(
          "table",
          attrs,
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              head.map((c) => h("th", { scope: "col" }, c)),
            ),
          ),
          h("tbody", {}, rows),
        )
      : h("p", { class: "muted empty" }, empty);
  const dl = (pairs) =>
    h(
      "dl",
      { class: "facts" },
      pairs.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "—")]),
    );
  const section = (title, ...children) => h("section", { class: "panel" }, h("h2", {}, title), children);

  /**
   * Bars per minute for the last hour, drawn with SVG elements (no markup strings); each bar's
   * tooltip says its minute and count. `compact`: a sparkline for a table row, without labels.
   */
  function minuteChart(points, key, label, endAt, { width = 300, compact = false } = {}) {
    const end = Math.floor(new Date(endAt ?? Date.now()).getTime() / 60000);
    const byMinute = new Map((points ?? []).map((p) => [Math.floor(new Date(p.minute).getTime() / 60000), Number(p[key] ?? 0)]));
    const values = Array.from({ length: 60 }, (_, i) => byMinute.get(end - 59 + i) ?? 0);
    const total = values.reduce((a, b) => a + b, 0);
    const max = Math.max(1, ...values);
    const [height, top, bottom, bar] = compact ? [24, 2, 1, width / 60] : [64, 14, 14, width / 60];
    const chart = s("svg", {
      viewBox: `0 0 ${width} ${height + bottom}`,
      width,
      height: height + bottom,
      class: compact ? "chart compact" : "chart",
      role: "img",
      "aria-label": `${label}: ${count(total)} in the last hour, at most ${count(max)} a minute`,
    });
    chart.append(s("line", { x1: 0, x2: width, y1: height + 0.5, y2: height + 0.5, class: "axis" }));
    values.forEach((value, i) => {
      const barHeight = value ? Math.max(1.5, ((height - top) * value) / max) : 0;
      const minute = new Date((end - 59 + i) * 60000);
      chart.append(
        s(
          "rect",
          { x: i * bar + 0.5, y: height - barHeight, width: bar - 1, height: barHeight, class: "bar" },
          s("title", {}, `${minute.toISOString().slice(11, 16)} UTC: ${count(value)}`),
        ),
      );
    });
    if (compact) return chart;
    chart.append(
      s("text", { x: 0, y: height + 12, class: "tick" }, "60 min ago"),
      s("text", { x: width, y: height + 12, class: "tick end" }, "now"),
      s("text", { x: width, y: 10, class: "tick end" }, `max ${count(max)}/min`),
    );
    return h("figure", { class: "chart-box" }, chart, h("figcaption", {}, `${label}: ${count(total)} in the last hour`));
  }

  // ---- #/ overview ----

  async function overviewPage() {
    // The JetStream panel is read from NATS: its failure is shown in its panel, not instead of the page.
    const [data, jetstream] = await Promise.all([api("overview"), api("jetstream").catch((error) => ({ configured: true, error }))]);
    document.title = "Overview · Sguild dispatcher";
    const consumers = data.consumers ?? [];
    return h(
      "div",
      { class: "page" },
      h(
        "div",
        { class: "page-head" },
        h("h1", {}, "Overview"),
        h("span", { class: "muted" }, `as of ${time(data.generatedAt)}`),
        h("button", { type: "button", onclick: () => route() }, "Refresh"),
      ),
      h("h2", { class: "section-title" }, `Consumers (${consumers.length})`),
      consumers.length
        ? consumers.map((c) => consumerCard(c, data.generatedAt))
        : h("p", { class: "muted empty" }, "No consumer has a cursor in this database yet."),
      section(
        "Published in the last hour",
        table(
          ["Event type", "Events", "Per minute"],
          (data.published ?? []).map((p) =>
            h(
              "tr",
              { "data-event-type": p.eventType },
              h("td", {}, link(`#/events${query({ eventType: p.eventType })}`, p.eventType)),
              h("td", { class: "num" }, count(p.lastHour)),
              h(
                "td",
                { class: "spark" },
                minuteChart(p.perMinute, "published", `${p.eventType} published`, data.generatedAt, { compact: true }),
              ),
            ),
          ),
          "Nothing was published in the last hour.",
          { class: "published" },
        ),
      ),
      jetstream.configured ? jetStreamPanel(jetstream) : null,
    );
  }

  /** The JetStream transport: the stream, and each of its consumers (the inbox's, one per event type) with its backlog. */
  function jetStreamPanel(js) {
    if (js.error) {
      return section("JetStream", h("p", { class: "error-text jetstream-error" }, `${js.error.code}: ${js.error.message}`));
    }
    const st = js.stream;
    return section(
      `JetStream stream ${st.name}`,
      h(
        "p",
        { class: "muted jetstream-stream" },
        `${count(st.messages)} messages (sequence ${count(st.firstSequence)} to ${count(st.lastSequence)}), ${st.replicas} replica${st.replicas === 1 ? "" : "s"}, leader ${st.leader ?? "none"}`,
      ),
      table(
        ["Consumer", "Subject", "Pending", "Unacknowledged", "Redelivered", "Ack floor", "Delivered", "Leader"],
        (js.consumers ?? []).map((c) =>
          h(
            "tr",
            { "data-jetstream-consumer": c.name },
            h("td", { class: "mono" }, c.name),
            h("td", { class: "mono" }, c.filterSubject ?? "(all)"),
            h("td", { class: "num" }, c.numPending ? badge(count(c.numPending), "warn") : "0"),
            h("td", { class: "num" }, count(c.numAckPending)),
            h("td", { class: "num" }, count(c.numRedelivered)),
            h("td", { class: "num" }, count(c.ackFloor)),
            h("td", { class: "num" }, count(c.delivered)),
            h("td", {}, c.leader ?? ""),
          ),
        ),
        "No consumer reads this stream yet (no inbox has started).",
        { class: "jetstream-consumers" },
      ),
    );
  }

  function consumerCard(c, generatedAt) {
    const types = c.types ?? [];
    const lag = types.reduce((n, t) => n + Number(t.lagEvents ?? 0), 0);
    const lagSeconds = Math.max(0, ...types.map((t) => Number(t.lagSeconds ?? 0)));
    return h(
      "article",
      { class: "panel consumer", "data-consumer": c.consumer },
      h(
        "header",
        { class: "consumer-head" },
        h("h3", {}, link(consumerHref(c.consumer), c.consumer)),
        stateBadge(c),
        badge(`lag ${plural(lag, "event")}, ${duration(lagSeconds)}`, lag ? "warn" : ""),
        c.activeDeadLetters
          ? link(`#/dead-letters${query({ consumer: c.consumer })}`, `${plural(c.activeDeadLetters, "active dead letter")}`, {
              class: "badge bad",
            })
          : badge("no dead letters"),
      ),
      h(
        "div",
        { class: "split" },
        table(
          ["Event type", "Lag (events)", "Lag (time)", "State"],
          types.map((t) =>
            h(
              "tr",
              { "data-event-type": t.eventType },
              h("td", {}, t.eventType),
              h("td", { class: "num" }, count(t.lagEvents)),
              h("td", { class: "num" }, duration(t.lagSeconds)),
              h("td", {}, typeState(t, c)),
            ),
          ),
          "No subscribed types.",
          { class: "types" },
        ),
        minuteChart(c.throughput, "delivered", "Delivered", generatedAt),
      ),
      instancesTable(c.instances ?? []),
    );
  }

  /** Paused (all or some types) before anything else; otherwise running on its live replicas, or not running. */
  function stateBadge(c) {
    const types = c.types ?? [];
    const pausedTypes = types.filter((t) => t.paused).length;
    const live = (c.instances ?? []).filter((i) => i.live).length;
    if (c.paused) return badge("paused", "warn");
    if (pausedTypes) return badge(`${pausedTypes} of ${types.length} types paused`, "warn");
    return live ? badge(`running · ${plural(live, "replica")}`, "ok") : badge("not running", "warn");
  }

  /** A type's state: paused, retrying an event, delivering (a live replica runs it), or stopped (none does). */
  function typeState(t, c) {
    if (t.paused) return badge(`paused${t.pausedBy ? ` by ${t.pausedBy}` : ""}`, "warn");
    if (Number(t.failedAttempts) > 0) return badge(`retrying (${plural(t.failedAttempts, "failed attempt")})`, "bad");
    const running = (c.instances ?? []).some((i) => i.live && (i.eventTypes ?? []).includes(t.eventType));
    return running ? badge("delivering", "ok") : badge("stopped", "warn");
  }

  function instancesTable(instances) {
    return table(
      ["Replica", "Host", "PID", "Version", "Types", "Started", "Last seen", ""],
      instances.map((i) =>
        h(
          "tr",
          { "data-instance": i.instanceId, class: i.live ? "" : "stale" },
          h("td", { class: "mono" }, i.instanceId),
          h("td", {}, i.host),
          h("td", { class: "num" }, i.pid),
          h("td", {}, i.version),
          h("td", {}, (i.eventTypes ?? []).join(", ")),
          h("td", {}, when(i.startedAt)),
          h("td", {}, when(i.lastSeenAt)),
          h("td", {}, i.live ? badge("live", "ok") : badge("not seen recently", "warn")),
        ),
      ),
      "No live replica: nothing runs this consumer right now.",
      { class: "instances" },
    );
  }

  // ---- #/consumers/{name} ----

  async function consumerPage(name) {
    const c = await api(`consumers/${enc(name)}`);
    document.title = `${c.consumer} · Sguild dispatcher`;
    const types = c.types ?? [];
    const path = `consumers/${enc(c.consumer)}`;
    const pause = (eventType) =>
      act(
        `Pausing ${eventType ?? `every type of ${c.consumer}`}`,
        () => api(`${path}/pause`, { by: by(), eventType }),
        (r) => [`Paused ${r.paused.length ? r.paused.join(", ") : "nothing"} for ${r.consumer}`, []],
      );
    const resume = (eventType) =>
      act(
        `Resuming ${eventType ?? `every type of ${c.consumer}`}`,
        () => api(`${path}/resume`, { by: by(), eventType }),
        (r) => [`Resumed ${r.resumed.length ? r.resumed.join(", ") : "nothing"} for ${r.consumer}`, []],
      );
    return h(
      "div",
      { class: "page" },
      h("p", { class: "crumbs" }, link("#/", "Overview"), " / ", c.consumer),
      h(
        "div",
        { class: "page-head" },
        h("h1", {}, c.consumer),
        stateBadge(c),
        c.activeDeadLetters
          ? link(`#/dead-letters${query({ consumer: c.consumer })}`, plural(c.activeDeadLetters, "active dead letter"), {
              class: "badge bad",
            })
          : badge("no dead letters"),
        h(
          "div",
          { class: "buttons" },
          h("button", { type: "button", onclick: () => route() }, "Refresh"),
          h("button", { type: "button", onclick: () => pause(undefined), disabled: c.paused }, "Pause all"),
          h("button", { type: "button", onclick: () => resume(undefined), disabled: !types.some((t) => t.paused) }, "Resume all"),
          h("button", { type: "button", onclick: () => rewind(c, undefined) }, "Rewind…"),
          h("button", { type: "button", class: "danger", onclick: () => drop(c) }, "Drop…"),
        ),
      ),
      section(
        "Event types",
        table(
          ["Event type", "Position", "Lag", "State", "Retry", "Last error", "Last delivered", "Dead letters", ""],
          types.map((t) =>
            h(
              "tr",
              { "data-event-type": t.eventType },
              h("td", {}, t.eventType),
              h("td", { class: "num" }, count(t.position)),
              h("td", { class: "num" }, `${plural(t.lagEvents, "event")}`, h("br"), h("small", { class: "muted" }, duration(t.lagSeconds))),
              h("td", {}, typeState(t, c), t.paused ? h("small", { class: "muted block" }, `since ${time(t.pausedAt)}`) : null),
              h(
                "td",
                {},
                Number(t.failedAttempts) > 0
                  ? [
                      `${plural(t.failedAttempts, "failed attempt")}`,
                      h("br"),
                      h("small", { class: "muted" }, t.retryAt ? `next try ${time(t.retryAt)}` : ""),
                    ]
                  : "—",
              ),
              h("td", { class: t.lastError ? "error-text" : undefined }, t.lastError ?? "—"),
              h("td", {}, when(t.lastDeliveredAt)),
              h("td", { class: "num" }, count(t.activeDeadLetters)),
              h(
                "td",
                { class: "row-actions" },
                t.paused
                  ? h("button", { type: "button", onclick: () => resume(t.eventType), "aria-label": `Resume ${t.eventType}` }, "Resume")
                  : h("button", { type: "button", onclick: () => pause(t.eventType), "aria-label": `Pause ${t.eventType}` }, "Pause"),
                h("button", { type: "button", onclick: () => rewind(c, t.eventType), "aria-label": `Rewind ${t.eventType}` }, "Rewind…"),
              ),
            ),
          ),
          "This consumer has no cursor.",
          { class: "types" },
        ),
      ),
      section("Replicas", instancesTable(c.instances ?? [])),
      section("Delivered in the last hour", minuteChart(c.throughput, "delivered", "Delivered", new Date().toISOString(), { width: 600 })),
    );
  }

  async function rewind(c, eventType) {
    const target = h("input", { name: "to", placeholder: "evt_… or 2026-01-31T09:00:00Z", autocomplete: "off", spellcheck: "false" });
    const typeSelect = h(
      "select",
      { name: "eventType" },
      h("option", { value: "" }, "every type"),
      (c.types ?? []).map((t) => h("option", { value: t.eventType, selected: t.eventType === eventType }, t.eventType)),
    );
    const preview = h("div", { class: "preview", "aria-live": "polite" });
    const body = () => {
      const to = target.value.trim();
      if (!to) return undefined;
      const iso = /^evt_/.test(to) || Number.isNaN(Date.parse(to)) ? to : new Date(to).toISOString();
      return { by: by(), to: iso, eventType: typeSelect.value || undefined };
    };
    const describe = (r) =>
      (r.cursors ?? []).map(
        (k) =>
          `${k.eventType}: position ${count(k.from)} → ${count(k.position)}, ` +
          `${plural(k.events, "event")} again, ${count(k.willApply)} will reach the handlers`,
      );
    const previewButton = h("button", { type: "button" }, "Preview");
    previewButton.addEventListener("click", async () => {
      const request = body();
      if (!request) return preview.replaceChildren(h("p", { class: "error-text" }, "Give an event id or a time."));
      try {
        const lines = describe(await api(`consumers/${enc(c.consumer)}/rewind`, { ...request, dryRun: true }));
        preview.replaceChildren(
          h("p", {}, "A rewind now would move:"),
          h(
            "ul",
            {},
            (lines.length ? lines : ["no cursor (nothing to rewind)"]).map((l) => h("li", {}, l)),
          ),
        );
      } catch (error) {
        preview.replaceChildren(h("p", { class: "error-text" }, refusal(error)));
      }
    });
    const ok = await confirmDialog({
      title: `Rewind ${c.consumer}`,
      body: [
        h(
          "p",
          {},
          "Moves the cursor back so events are delivered again. " +
            "Events this consumer already applied are skipped as duplicates: the console never applies anything twice.",
        ),
        field(
          "Back to",
          target,
          "an event id (that event and everything after it), " +
            "or a time (every event created from then on; without a zone, your browser's local time)",
        ),
        field("Event type", typeSelect),
        preview,
      ],
      confirmLabel: "Rewind",
      extraButtons: [previewButton],
      ready: () => target.value.trim() !== "",
    });
    if (!ok) return;
    const request = body();
    await act(
      `Rewinding ${c.consumer}`,
      () => api(`consumers/${enc(c.consumer)}/rewind`, { ...request, dryRun: false }),
      (r) => [`Rewound ${c.consumer}`, describe(r)],
    );
  }

  async function drop(c) {
    const typed = h("input", { name: "confirm", autocomplete: "off", spellcheck: "false" });
    const ok = await confirmDialog({
      title: `Drop ${c.consumer}`,
      body: [
        h(
          "p",
          {},
          "Deletes this consumer's cursors, its record of delivered events and its dead letters. " +
            "Do this only for a consumer that will never run again; a running consumer is refused.",
        ),
        field(`Type ${c.consumer} to confirm`, typed),
      ],
      confirmLabel: "Drop consumer",
      danger: true,
      ready: () => typed.value === c.consumer,
    });
    if (!ok) return;
    await act(
      `Dropping ${c.consumer}`,
      () => api(`consumers/${enc(c.consumer)}/drop`, { by: by(), confirm: typed.value }),
      (r) => [
        `Dropped ${r.consumer}: ${plural(r.cursors.length, "cursor")}, ${plural(r.dedup, "delivery record")}, ` +
          `${plural(r.deadLetters, "dead letter")} (${count(r.activeDeadLetters)} active)`,
        [],
      ],
      () => go("#/"),
    );
  }

  // ---- #/dead-letters ----

  async function deadLettersPage(params) {
    const consumer = params.get("consumer") ?? "";
    const [groups, overview] = await Promise.all([
      api(`dead-letters/groups${query({ consumer })}`),
      api("overview").catch(() => ({ consumers: [] })),
    ]);
    document.title = "Dead letters · Sguild dispatcher";
    const select = h(
      "select",
      {
        name: "consumer",
        "aria-label": "Consumer",
        onchange: (e) => (location.hash = `#/dead-letters${query({ consumer: e.target.value })}`),
      },
      h("option", { value: "" }, "every consumer"),
      (overview.consumers ?? []).map((c) => h("option", { value: c.consumer, selected: c.consumer === consumer }, c.consumer)),
    );
    const total = groups.reduce((n, g) => n + Number(g.count), 0);
    return h(
      "div",
      { class: "page" },
      h(
        "div",
        { class: "page-head" },
        h("h1", {}, "Dead letters"),
        h("span", { class: "muted" }, `${plural(total, "active letter")} in ${plural(groups.length, "group")}`),
        h("label", { class: "inline" }, "Consumer ", select),
      ),
      table(
        ["Consumer", "Failure", "Event types", "Letters", "First seen", "Last seen", ""],
        groups.map((g) =>
          h(
            "tr",
            { "data-fingerprint": g.fingerprint, "data-consumer": g.consumer },
            h("td", {}, link(consumerHref(g.consumer), g.consumer)),
            h("td", {}, h("strong", {}, g.errorClass), h("div", { class: "error-text" }, g.sampleMessage)),
            h("td", {}, (g.eventTypes ?? []).join(", ")),
            h("td", { class: "num" }, count(g.count)),
            h("td", {}, when(g.firstFailedAt)),
            h("td", {}, when(g.lastFailedAt)),
            h(
              "td",
              { class: "row-actions" },
              link(groupHref(g.consumer, g.fingerprint), "Open", { class: "button" }),
              h("button", { type: "button", onclick: () => replayGroup(g) }, "Replay…"),
              h("button", { type: "button", onclick: () => resolveGroup(g) }, "Resolve…"),
            ),
          ),
        ),
        consumer ? `No active dead letters for ${consumer}.` : "No active dead letters.",
        { class: "groups" },
      ),
    );
  }

  const OUTCOME_WORDS = {
    replayed: "replayed and resolved",
    already_delivered: "already delivered to the consumer; resolved",
    failed: "failed again",
    requested: "requested of the consumer's own process, which replays it on its next check",
  };
  const outcomeLines = (outcomes) =>
    outcomes.map(
      (o) =>
        `${o.deadLetter.id} (${o.deadLetter.eventType}): ${OUTCOME_WORDS[o.outcome] ?? o.outcome}` +
        `${o.outcome === "failed" ? `: ${o.deadLetter.errorMessage}` : ""}`,
    );
  const anyRequested = (outcomes) => (outcomes ?? []).some((o) => o.outcome === "requested") && refreshSoon();
  function outcomeTitle(outcomes) {
    const tally = {};
    for (const o of outcomes) tally[o.outcome] = (tally[o.outcome] ?? 0) + 1;
    return (
      Object.entries(tally)
        .map(([k, n]) => `${n} ${k.replace("_", " ")}`)
        .join(", ") || "nothing to replay"
    );
  }

  async function replayGroup(g) {
    const ok = await confirmDialog({
      title: "Replay this group",
      body: [
        h("p", {}, `Replays ${plural(g.count, "active dead letter")} of ${g.consumer} that failed with:`),
        h("blockquote", {}, `${g.errorClass}: ${g.sampleMessage}`),
        h(
          "p",
          { class: "muted" },
          "Each letter is handed to the consumer's handlers again; a letter that fails again stays active with its new error.",
        ),
      ],
      confirmLabel: `Replay ${plural(g.count, "letter")}`,
    });
    if (!ok) return;
    const result = await act(
      "Replaying the group",
      () => api(`dead-letters/groups/${enc(g.fingerprint)}/replay`, { by: by(), consumer: g.consumer }),
      (r) => [`Replayed the group: ${outcomeTitle(r.outcomes)}`, outcomeLines(r.outcomes)],
    );
    anyRequested(result?.outcomes);
  }

  async function resolveGroup(g) {
    const note = h("input", { name: "note", autocomplete: "off" });
    const ok = await confirmDialog({
      title: "Resolve this group",
      body: [
        h("p", {}, `Marks ${plural(g.count, "active dead letter")} of ${g.consumer} resolved without running them.`),
        h("blockquote", {}, `${g.errorClass}: ${g.sampleMessage}`),
        field("Note (optional)", note),
      ],
      confirmLabel: `Resolve ${plural(g.count, "letter")}`,
      danger: true,
    });
    if (!ok) return;
    await act(
      "Resolving the group",
      () =>
        api(`dead-letters/groups/${enc(g.fingerprint)}/resolve`, { by: by(), consumer: g.consumer, note: note.value.trim() || undefined }),
      (r) => [`Resolved ${plural(r.resolved.length, "dead letter")}`, []],
    );
  }

  async function groupPage(fingerprint, params) {
    const consumer = params.get("consumer") ?? "";
    const [groups, letters] = await Promise.all([
      api(`dead-letters/groups${query({ consumer })}`),
      api(`dead-letters${query({ consumer, fingerprint, includeResolved: "true", limit: 500 })}`),
    ]);
    const group = groups.find((g) => g.fingerprint === fingerprint && (!consumer || g.consumer === consumer));
    const sample =
      group ??
      (letters[0] && {
        consumer: letters[0].consumer,
        fingerprint,
        errorClass: letters[0].errorClass,
        sampleMessage: letters[0].errorMessage,
        count: 0,
      });
    document.title = "Dead-letter group · Sguild dispatcher";
    const active = letters.filter((l) => !l.resolvedAt).length;
    return h(
      "div",
      { class: "page" },
      h("p", { class: "crumbs" }, link(`#/dead-letters${query({ consumer })}`, "Dead letters"), " / group"),
      h(
        "div",
        { class: "page-head" },
        h("h1", {}, sample ? `${sample.errorClass} in ${sample.consumer}` : "Dead-letter group"),
        active ? badge(`${plural(active, "active letter")}`, "bad") : badge("all resolved", "ok"),
        group
          ? h(
              "div",
              { class: "buttons" },
              h("button", { type: "button", class: "primary", onclick: () => replayGroup(group) }, "Replay group…"),
              h("button", { type: "button", onclick: () => resolveGroup(group) }, "Resolve group…"),
            )
          : null,
      ),
      sample ? h("blockquote", { class: "error-text" }, sample.sampleMessage) : null,
      group
        ? dl([
            ["Fingerprint", h("code", {}, fingerprint)],
            ["Event types", (group.eventTypes ?? []).join(", ")],
            ["First seen", time(group.firstFailedAt)],
            ["Last seen", time(group.lastFailedAt)],
          ])
        : null,
      section("Letters", lettersTable(letters)),
    );
  }

  function letterState(l) {
    if (l.resolvedAt) return badge(`resolved by ${l.resolvedBy ?? "?"}`, "ok");
    if (l.replayRequestedAt) return badge(`replay requested by ${l.replayRequestedBy ?? "?"}`, "warn");
    return badge("active", "bad");
  }

  function lettersTable(letters) {
    return table(
      ["Letter", "Event", "Attempts", "Last failed", "State", ""],
      letters.map((l) =>
        h(
          "tr",
          { "data-letter": l.id },
          h("td", { class: "mono" }, link(letterHref(l.id), l.id)),
          h("td", {}, l.eventType, h("br"), link(eventHref(l.eventId), l.eventId, { class: "mono small" })),
          h("td", { class: "num" }, count(l.attempts)),
          h("td", {}, when(l.lastFailedAt)),
          h("td", {}, letterState(l)),
          h(
            "td",
            { class: "row-actions" },
            l.resolvedAt
              ? null
              : [
                  h("button", { type: "button", onclick: () => replayLetter(l) }, "Replay…"),
                  h("button", { type: "button", onclick: () => resolveLetter(l) }, "Resolve…"),
                ],
          ),
        ),
      ),
      "No letters.",
      { class: "letters" },
    );
  }

  async function replayLetter(l) {
    const ok = await confirmDialog({
      title: "Replay this dead letter",
      body: [
        h("p", {}, `Hands ${l.eventType} ${l.eventId} to ${l.consumer}'s handlers again.`),
        h("blockquote", {}, `${l.errorClass}: ${l.errorMessage}`),
      ],
      confirmLabel: "Replay",
    });
    if (!ok) return;
    const result = await act(
      `Replaying ${l.id}`,
      () => api(`dead-letters/${enc(l.id)}/replay`, { by: by() }),
      (r) => [`Replayed ${l.id}: ${r.outcome.replace("_", " ")}`, outcomeLines([r])],
    );
    anyRequested(result && [result]);
  }

  async function resolveLetter(l) {
    const note = h("input", { name: "note", autocomplete: "off" });
    const ok = await confirmDialog({
      title: "Resolve this dead letter",
      body: [h("p", {}, `Marks ${l.id} resolved without running it.`), field("Note (optional)", note)],
      confirmLabel: "Resolve",
      danger: true,
    });
    if (!ok) return;
    await act(
      `Resolving ${l.id}`,
      () => api(`dead-letters/${enc(l.id)}/resolve`, { by: by(), note: note.value.trim() || undefined }),
      (d) => [`Resolved ${d.id}${d.resolvedBy ? ` (by ${d.resolvedBy})` : ""}`, []],
    );
  }

  async function letterPage(id) {
    const l = await api(`dead-letters/${enc(id)}`);
    document.title = `${l.id} · Sguild dispatcher`;
    return h(
      "div",
      { class: "page" },
      h(
        "p",
        { class: "crumbs" },
        link(`#/dead-letters${query({ consumer: l.consumer })}`, "Dead letters"),
        " / ",
        link(groupHref(l.consumer, l.fingerprint), "group"),
        " / ",
        l.id,
      ),
      h(
        "div",
        { class: "page-head" },
        h("h1", {}, `Dead letter ${l.id}`),
        letterState(l),
        l.resolvedAt
          ? null
          : h(
              "div",
              { class: "buttons" },
              h("button", { type: "button", class: "primary", onclick: () => replayLetter(l) }, "Replay…"),
              h("button", { type: "button", onclick: () => resolveLetter(l) }, "Resolve…"),
            ),
      ),
      dl([
        ["Consumer", link(consumerHref(l.consumer), l.consumer)],
        ["Event", [l.eventType, " ", link(eventHref(l.eventId), l.eventId, { class: "mono" })]],
        ["Error", h("span", { class: "error-text" }, `${l.errorClass}: ${l.errorMessage}`)],
        ["Attempts", count(l.attempts)],
        ["First failed", time(l.firstFailedAt)],
        ["Last failed", time(l.lastFailedAt)],
        l.replayRequestedAt && ["Replay requested", `${time(l.replayRequestedAt)} by ${l.replayRequestedBy}`],
        l.resolvedAt && ["Resolved", `${time(l.resolvedAt)} by ${l.resolvedBy}${l.resolutionNote ? `: ${l.resolutionNote}` : ""}`],
      ]),
      section("Stack", h("pre", { class: "stack" }, l.errorStack ?? "no stack recorded")),
      section("Envelope", h("pre", {}, pretty(l.envelope))),
    );
  }

  // ---- #/events, #/events/{id}, #/flows/{id} ----

  const localInput = (iso) =>
    iso && !Number.isNaN(Date.parse(iso))
      ? new Date(new Date(iso).getTime() - new Date(iso).getTimezoneOffset() * 60000).toISOString().slice(0, 16)
      : "";
  const SEARCH_FIELDS = [
    ["eventId", "Event id"],
    ["eventType", "Event type"],
    ["subject", "Subject"],
    ["correlationId", "Correlation id"],
  ];

  async function eventsPage(params) {
    const filter = Object.fromEntries([...SEARCH_FIELDS.map(([k]) => k), "from", "to"].map((k) => [k, params.get(k) ?? ""]));
    const events = await api(`events${query({ ...filter, limit: 100 })}`);
    document.title = "Events · Sguild dispatcher";
    const inputs = Object.fromEntries(
      SEARCH_FIELDS.map(([k]) => [k, h("input", { name: k, value: filter[k], autocomplete: "off", spellcheck: "false" })]),
    );
    const from = h("input", { type: "datetime-local", name: "from", value: localInput(filter.from) });
    const to = h("input", { type: "datetime-local", name: "to", value: localInput(filter.to) });
    const form = h(
      "form",
      { class: "search", role: "search" },
      SEARCH_FIELDS.map(([k, label]) => field(label, inputs[k])),
      field("From", from),
      field("To", to),
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "submit", class: "primary" }, "Search"),
        link("#/events", "Clear", { class: "button" }),
      ),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const next = Object.fromEntries(SEARCH_FIELDS.map(([k]) => [k, inputs[k].value.trim()]));
      next.from = from.value ? new Date(from.value).toISOString() : "";
      next.to = to.value ? new Date(to.value).toISOString() : "";
      const hash = `#/events${query(next)}`;
      if (location.hash === hash) route();
      else location.hash = hash;
    });
    const filtered = Object.values(filter).some(Boolean);
    return h(
      "div",
      { class: "page" },
      h(
        "div",
        { class: "page-head" },
        h("h1", {}, "Events"),
        h(
          "span",
          { class: "muted" },
          filtered ? `${plural(events.length, "match", "matches")}, newest first` : `the newest ${plural(events.length, "event")}`,
        ),
      ),
      form,
      eventsTable(events),
    );
  }

  function eventsTable(events) {
    return table(
      ["Position", "Created", "Event type", "Subject", "Correlation", "Event id"],
      events.map((e) =>
        h(
          "tr",
          { "data-event": e.eventId },
          h("td", { class: "num" }, e.position === null || e.position === undefined ? "not yet numbered" : count(e.position)),
          h("td", {}, time(e.createdAt)),
          h("td", {}, e.eventType),
          h("td", { class: "mono small" }, e.subject ?? "—"),
          h("td", { class: "mono small" }, e.correlationId ? link(flowHref(e.correlationId), e.correlationId) : "—"),
          h("td", { class: "mono small" }, link(eventHref(e.eventId), e.eventId)),
        ),
      ),
      "No event matches.",
      { class: "events" },
    );
  }

  async function eventPage(id) {
    const { event: e, deliveredTo, deadLettered } = await api(`events/${enc(id)}`);
    document.title = `${e.eventType} ${e.eventId} · Sguild dispatcher`;
    return h(
      "div",
      { class: "page" },
      h("p", { class: "crumbs" }, link("#/events", "Events"), " / ", e.eventId),
      h("div", { class: "page-head" }, h("h1", {}, e.eventType), h("span", { class: "mono muted" }, e.eventId)),
      dl([
        ["Position", e.position === null || e.position === undefined ? "not yet numbered" : count(e.position)],
        ["Schema version", e.schemaVersion],
        ["Producer", e.producer],
        ["Tenant", e.tenantId],
        ["Subject", e.subject],
        ["Actor", e.actor],
        ["Correlation", e.correlationId ? link(flowHref(e.correlationId), e.correlationId) : "—"],
        ["Occurred", time(e.occurredAt)],
        ["Created", time(e.createdAt)],
      ]),
      section(
        "Delivered to",
        deliveredTo.length
          ? h(
              "ul",
              { class: "delivered" },
              deliveredTo.map((c) => h("li", {}, link(consumerHref(c), c))),
            )
          : h("p", { class: "muted empty" }, "No consumer has it yet."),
      ),
      section(
        "Dead-lettered by",
        deadLettered.length
          ? h(
              "ul",
              { class: "dead-lettered" },
              deadLettered.map((d) =>
                h(
                  "li",
                  {},
                  link(consumerHref(d.consumer), d.consumer),
                  " ",
                  link(letterHref(d.deadLetterId), d.deadLetterId, { class: "mono" }),
                  " ",
                  d.resolvedAt ? badge(`resolved ${time(d.resolvedAt)}`, "ok") : badge("active", "bad"),
                ),
              ),
            )
          : h("p", { class: "muted empty" }, "No consumer dead-lettered it."),
      ),
      section("Payload", h("pre", {}, pretty(e.payload))),
      section("Envelope", h("pre", {}, pretty(e))),
    );
  }

  async function flowPage(correlationId) {
    const flow = await api(`flows/${enc(correlationId)}`);
    const events = flow.events ?? [];
    document.title = `Flow ${correlationId} · Sguild dispatcher`;
    const start = events.length ? new Date(events[0].createdAt).getTime() : 0;
    const types = new Set(events.map((e) => e.eventType));
    return h(
      "div",
      { class: "page" },
      h("p", { class: "crumbs" }, link(`#/events${query({ correlationId })}`, "Events"), " / flow"),
      h("div", { class: "page-head" }, h("h1", {}, "Flow"), h("span", { class: "mono muted" }, flow.correlationId)),
      h(
        "p",
        { class: "muted" },
        events.length
          ? `${plural(events.length, "event")} of ${plural(types.size, "type")}, in order`
          : "No event carries this correlation id.",
      ),
      h(
        "ol",
        { class: "timeline" },
        events.map((e) =>
          h(
            "li",
            { "data-event": e.eventId },
            h(
              "div",
              { class: "when" },
              time(e.createdAt),
              h("small", { class: "muted block" }, since(new Date(e.createdAt).getTime() - start)),
            ),
            h(
              "div",
              { class: "what" },
              h("strong", {}, e.eventType),
              ` by ${e.producer}`,
              e.subject ? [" · ", h("span", { class: "mono small" }, e.subject)] : null,
              h("div", { class: "small" }, `position ${e.position ?? "—"} · `, link(eventHref(e.eventId), e.eventId, { class: "mono" })),
              h("details", {}, h("summary", {}, "payload"), h("pre", {}, pretty(e.payload))),
            ),
          ),
        ),
      ),
    );
  }

  // ---- #/tail ----

  async function tailPage(params, alive) {
    const eventType = params.get("eventType") ?? "";
    document.title = "Tail · Sguild dispatcher";
    const first = await api(`tail${query({ eventType })}`);
    let after = first.position;
    let running = true;
    let timer = null;
    const rows = h("tbody", {});
    const status = h("span", { class: "muted", "aria-live": "off" });
    const shown = () => rows.children.length;
    const setStatus = (extra = "") =>
      status.replaceChildren(
        `${running ? "watching" : "paused"} after position ${count(after)} · ${plural(shown(), "event")} shown${extra}`,
      );
    const filter = h("input", { name: "eventType", value: eventType, placeholder: "every type", autocomplete: "off", spellcheck: "false" });
    const filterForm = h(
      "form",
      { class: "inline", role: "search" },
      field("Event type", filter),
      h("button", { type: "submit" }, "Filter"),
    );
    filterForm.addEventListener("submit", (event) => {
      event.preventDefault();
      location.hash = `#/tail${query({ eventType: filter.value.trim() })}`;
    });
    const toggle = h("button", { type: "button" }, "Pause");
    toggle.addEventListener("click", () => {
      running = !running;
      toggle.textContent = running ? "Pause" : "Resume";
      setStatus();
      if (running) poll();
    });
    const clear = h("button", { type: "button", onclick: () => (rows.replaceChildren(), setStatus()) }, "Clear");
    async function poll() {
      clearTimeout(timer);
      if (!running || !alive()) return;
      try {
        const batch = await api(`tail${query({ after, eventType })}`);
        if (!alive()) return;
        for (const e of batch.events ?? []) {
          rows.prepend(
            h(
              "tr",
              { "data-event": e.eventId },
              h("td", { class: "num" }, count(e.position)),
              h("td", {}, time(e.createdAt)),
              h("td", {}, e.eventType),
              h("td", { class: "mono small" }, e.subject ?? "—"),
              h("td", { class: "mono small" }, e.correlationId ? link(flowHref(e.correlationId), e.correlationId) : "—"),
              h("td", { class: "mono small" }, link(eventHref(e.eventId), e.eventId)),
            ),
          );
        }
        while (rows.children.length > 500) rows.lastChild.remove();
        after = batch.position ?? after;
        setStatus();
      } catch (error) {
        setStatus(` · ${refusal(error)}`);
      }
      if (running && alive()) timer = setTimeout(poll, 1000);
    }
    setStatus();
    timer = setTimeout(poll, 1000);
    if (alive()) cleanup = () => clearTimeout(timer);
    return h(
      "div",
      { class: "page" },
      h("div", { class: "page-head" }, h("h1", {}, "Tail"), status),
      h("div", { class: "toolbar" }, filterForm, h("div", { class: "buttons" }, toggle, clear)),
      h(
        "table",
        { class: "events tail" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Position", "Created", "Event type", "Subject", "Correlation", "Event id"].map((c) => h("th", { scope: "col" }, c)),
          ),
        ),
        rows,
      ),
      h("p", { class: "muted small" }, "New events appear at the top, polled every second."),
    );
  }

  // ---- the router ----

  function pageFor(parts, params, alive) {
    const [first, second, third] = parts;
    if (!first) return () => overviewPage();
    if (first === "consumers" && second) return () => consumerPage(second);
    if (first === "dead-letters" && !second) return () => deadLettersPage(params);
    if (first === "dead-letters" && second === "groups" && third) return () => groupPage(third, params);
    if (first === "dead-letters" && second) return () => letterPage(second);
    if (first === "events" && !second) return () => eventsPage(params);
    if (first === "events" && second) return () => eventPage(second);
    if (first === "flows" && second) return () => flowPage(second);
    if (first === "tail") return () => tailPage(params, alive);
    return async () => refusedState(new ApiError(404, "NOT_FOUND", `no page ${location.hash}`));
  }

  async function route() {
    if (cleanup) cleanup();
    cleanup = null;
    const mine = ++renderCount;
    const alive = () => mine === renderCount;
    const hash = location.hash;
    const raw = hash.replace(/^#/, "") || "/";
    const [path, search = ""] = raw.split("?");
    let parts;
    try {
      parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    } catch {
      parts = ["?"];
    }
    for (const a of document.querySelectorAll("nav a")) {
      a.toggleAttribute("aria-current", a.dataset.nav === (parts[0] ?? "overview") || (a.dataset.nav === "events" && parts[0] === "flows"));
    }
    app.setAttribute("aria-busy", "true");
    let node;
    try {
      node = await pageFor(parts, new URLSearchParams(search), alive)();
    } catch (error) {
      node = refusedState(error);
      document.title = "Sguild dispatcher console";
    }
    if (!alive()) return;
    app.replaceChildren(node);
    app.dataset.drawn = hash;
    app.removeAttribute("aria-busy");
  }

  /** Goes to a page keeping the outcome shown (after an operation that leaves the page it was on). */
  function go(hash) {
    if (location.hash !== hash) history.pushState(null, "", hash);
    return route();
  }

  window.addEventListener("hashchange", () => {
    outcomeBox.hidden = true;
    route().then(() => app.focus({ preventScroll: true }));
  });
  route();
})();
