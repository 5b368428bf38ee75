// The domain diagram as SVG, drawn when the catalog is generated (no script or network needed to see it).
// Producers on the left, consumers on the right; one curve per producer -> consumer flow, as thick as the number of
// event types it carries, labelled with that number, its <title> naming them. Each flow leaves and enters its nodes at
// a port of its own, so no two curves or labels share a point.
import { esc, h, plural } from "./markup.mjs";

const COLORS = {
  platform: "#4c6ef5",
  growth: "#2f9e44",
  sales: "#e8590c",
  delivery: "#1098ad",
  revenue: "#ae3ec9",
  coaching: "#d6336c",
  "platform-warehouse": "#495057",
};
const color = (domain) => COLORS[domain] ?? "#868e96";
const WIDTH = 860;
const NODE_W = 170;
const LEFT_X = 40;
const RIGHT_X = WIDTH - 40 - NODE_W;
const PORT = 20;
const PAD = 14;
const GAP = 18;
const TOP = 56;

/** Text wrapped at spaces into lines of at most `width` characters (tooltips show the line breaks). */
const wrap = (text, width = 110) =>
  text
    .split(" ")
    .reduce((lines, word) => {
      const last = lines[lines.length - 1];
      if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
      else lines.push(word);
      return lines;
    }, [])
    .join("\n");

/** Stacks nodes top to bottom, each as tall as its ports need; returns { domain: { y, h, ports: [key...] } }. */
function column(domains, portsOf) {
  const out = {};
  let y = TOP;
  for (const d of domains) {
    const ports = portsOf(d);
    const h = Math.max(44, ports.length * PORT + 2 * PAD);
    out[d] = { y, h, ports };
    y += h + GAP;
  }
  return { nodes: out, bottom: y - GAP };
}

/** The ports of a node are spread evenly around its middle, PORT apart. */
const portY = (node, key) => node.y + node.h / 2 + (node.ports.indexOf(key) - (node.ports.length - 1) / 2) * PORT;

/**
 * @param {{ domains: string[], flows: [string, string[]][], events: { producer: string, consumers: string[] }[] }} m
 */
export function renderSvg(m) {
  const flows = m.flows.map(([key, types]) => {
    const [from, to] = key.split(" -> ");
    return { key, from, to, types };
  });
  const rank = (d) => m.domains.indexOf(d);
  const producers = m.domains.filter((d) => flows.some((f) => f.from === d));
  const consumers = m.domains.filter((d) => flows.some((f) => f.to === d));
  const out = (d) =>
    flows
      .filter((f) => f.from === d)
      .sort((a, b) => rank(a.to) - rank(b.to))
      .map((f) => f.key);
  const into = (d) =>
    flows
      .filter((f) => f.to === d)
      .sort((a, b) => rank(a.from) - rank(b.from))
      .map((f) => f.key);
  const left = column(producers, out);
  const right = column(consumers, into);
  const height = Math.max(left.bottom, right.bottom) + 24;

  const curves = flows.map((f) => {
    const x1 = LEFT_X + NODE_W;
    const y1 = portY(left.nodes[f.from], f.key);
    const x2 = RIGHT_X - 10;
    const y2 = portY(right.nodes[f.to], f.key);
    const mid = (x1 + x2) / 2;
    const summary = `${f.from} → ${f.to}: ${plural(f.types.length, "event type")}`;
    return h(
      "g",
      {
        class: "edge",
        "data-from": f.from,
        "data-to": f.to,
        "data-count": f.types.length,
        tabindex: 0,
        role: "button",
        "aria-label": summary,
      },
      h("title", {}, esc(wrap(`${summary} (${f.types.join(", ")})`))),
      h("path", {
        d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`,
        stroke: color(f.from),
        "stroke-width": Math.min(9, 1.5 + f.types.length * 0.55).toFixed(1),
        "stroke-opacity": 0.75,
        fill: "none",
        "marker-end": `url(#arrow-${f.from})`,
      }),
      h("rect", { x: x1 + 4, y: y1 - 8, width: 24, height: 16, rx: 8, fill: "#fff", stroke: color(f.from) }),
      h("text", { x: x1 + 16, y: y1, dy: "0.35em", "text-anchor": "middle", "font-size": 11 }, String(f.types.length)),
    );
  });

  const node = (d, side, n, x) => {
    const events = side === "producer" ? m.events.filter((e) => e.producer === d) : m.events.filter((e) => e.consumers.includes(d));
    const what = side === "producer" ? "produces" : "consumes";
    const title = `${d} ${what} ${plural(events.length, "event type")}`;
    const center = x + NODE_W / 2;
    return h(
      "g",
      { class: "node", "data-domain": d, "data-side": side, tabindex: 0, role: "button", "aria-label": title },
      h("title", {}, esc(title)),
      h("rect", { x, y: n.y, width: NODE_W, height: n.h, rx: 8, fill: "#fff", stroke: color(d), "stroke-width": 2 }),
      h("text", { x: center, y: n.y + n.h / 2 - 7, "text-anchor": "middle", "font-size": 14, "font-weight": 600 }, esc(d)),
      h(
        "text",
        { x: center, y: n.y + n.h / 2 + 11, "text-anchor": "middle", "font-size": 11, fill: "#495057" },
        `${what} ${events.length}`,
      ),
    );
  };

  const markers = m.domains.map((d) =>
    h(
      "marker",
      {
        id: `arrow-${d}`,
        viewBox: "0 0 10 10",
        refX: 0,
        refY: 5,
        markerWidth: 10,
        markerHeight: 10,
        markerUnits: "userSpaceOnUse",
        orient: "auto",
      },
      h("path", { d: "M0,0 L10,5 L0,10 z", fill: color(d) }),
    ),
  );
  const description =
    `${plural(producers.length, "producing domain")} on the left, ${plural(consumers.length, "consuming domain")} on the right, ` +
    `${plural(flows.length, "flow")}; each flow is labelled with the number of event types it carries.`;
  const heading = (x, text) => h("text", { x, y: 30, "font-size": 13, fill: "#495057" }, text);
  const svg = {
    xmlns: "http://www.w3.org/2000/svg",
    id: "domain-diagram",
    viewBox: `0 0 ${WIDTH} ${height}`,
    width: WIDTH,
    height,
    role: "img",
    "aria-labelledby": "domain-diagram-title domain-diagram-desc",
    "font-family": "system-ui, sans-serif",
  };
  return (
    h(
      "svg",
      svg,
      h("title", { id: "domain-diagram-title" }, "Who sends what to whom"),
      h("desc", { id: "domain-diagram-desc" }, esc(wrap(description))),
      h("defs", {}, markers),
      heading(LEFT_X, "produces (event types per flow)"),
      heading(RIGHT_X, "consumes"),
      h("g", { class: "edges" }, curves),
      h(
        "g",
        { class: "nodes" },
        producers.map((d) => node(d, "producer", left.nodes[d], LEFT_X)),
        consumers.map((d) => node(d, "consumer", right.nodes[d], RIGHT_X)),
      ),
    ) + "\n"
  );
}
