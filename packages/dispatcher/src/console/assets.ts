import { createHash } from "node:crypto";
import appCss from "./ui/app.css?raw";
import appJs from "./ui/app.js?raw";
import indexHtml from "./ui/index.html?raw";

/** The page, its script and its stylesheet, bundled into the package: the console loads nothing from elsewhere. */
interface Asset {
  body: string;
  contentType: string;
  etag: string;
}

const asset = (body: string, contentType: string): Asset => ({
  body,
  contentType,
  etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`,
});

/** By path below the base path. */
export const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ["/", asset(indexHtml, "text/html; charset=utf-8")],
  ["/assets/app.js", asset(appJs, "text/javascript; charset=utf-8")],
  ["/assets/app.css", asset(appCss, "text/css; charset=utf-8")],
]);

/**
 * An asset as a response. They are behind `authorize` and their URLs carry no version, so a browser
 * keeps them privately and asks again each time (`private, no-cache`): unchanged, it is answered 304
 * by the ETag, without the body.
 */
export function assetResponse(found: Asset, request: Request): Response {
  const headers = { "content-type": found.contentType, "cache-control": "private, no-cache", etag: found.etag };
  if (matches(request.headers.get("if-none-match"), found.etag)) return new Response(null, { status: 304, headers });
  return new Response(request.method === "HEAD" ? null : found.body, { status: 200, headers });
}

function matches(header: string | null, etag: string): boolean {
  if (header === null) return false;
  return header.trim() === "*" || header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}
