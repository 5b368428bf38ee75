// A small HTML/SVG builder for the catalog generator: escaped text, attributes, one element per line.

/** Text or an attribute value, escaped for HTML and SVG. */
export const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const SELF_CLOSING = new Set(["br", "input", "meta", "path", "rect", "circle"]);

/**
 * `<tag attrs>children</tag>`. Attributes whose value is undefined, null or false are left out, true writes the bare name;
 * children are markup (escape text with `esc`), nested arrays are flattened, empty ones dropped. A long opening tag puts
 * each attribute on a line of its own, so no line of the output runs past the code style's 140 characters.
 */
export function h(tag, attributes = {}, ...children) {
  const list = Object.entries(attributes)
    .filter(([, v]) => v !== undefined && v !== null && v !== false)
    .map(([k, v]) => (v === true ? k : `${k}="${esc(v)}"`));
  const inline = `<${tag}${list.map((a) => ` ${a}`).join("")}`;
  const open = inline.length <= 100 ? inline : `<${tag}\n${list.map((a) => `  ${a}`).join("\n")}\n`;
  const kids = children.flat(Infinity).filter((c) => c !== undefined && c !== null && c !== false && c !== "");
  if (kids.length === 0) return SELF_CLOSING.has(tag) ? `${open}${open === inline ? " " : ""}/>` : `${open}></${tag}>`;
  const short = kids.length === 1 && !kids[0].includes("\n") && kids[0].length <= 100;
  return short ? `${open}>${kids[0]}</${tag}>` : `${open}>\n${kids.join("\n")}\n</${tag}>`;
}

export const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
