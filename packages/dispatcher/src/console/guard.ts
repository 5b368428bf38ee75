import { DispatcherConfigError } from "../errors/index.js";
import { hasMediaType } from "../http/body.js";

/** On every response of the console: the page may load only its own script, stylesheet and API, and may not be framed. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** The security headers, and `Cache-Control: no-store` on what sets no caching of its own (the API's answers). */
export function secure(response: Response): Response {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
  if (!response.headers.has("cache-control")) response.headers.set("cache-control", "no-store");
  return response;
}

/** Whether a page at this origin may POST to the console, for this request. */
export type OriginPolicy = (origin: string, request: Request) => boolean;

/**
 * `allowedOrigins` as a policy, checked once at creation (each an origin: scheme, host, optional
 * port, nothing after). Without it, a request's own origin: its URL's, or its Host header's (behind
 * `toNodeHandler` the URL is always http://localhost, while the Host header is the one the browser
 * sent; a cross-site page cannot set it).
 */
export function originPolicy(allowed: readonly string[] | undefined): OriginPolicy {
  if (allowed === undefined) return sameOrigin;
  if (!Array.isArray(allowed))
    throw new DispatcherConfigError("createConsole allowedOrigins must be an array of origins", "allowedOrigins");
  const origins = new Set(
    allowed.map((entry) => {
      const origin = originOf(entry);
      if (origin === undefined || !/^[a-z][a-z0-9+.-]*:\/\/[^/?#@]+\/?$/i.test(entry)) {
        throw new DispatcherConfigError(
          `createConsole allowedOrigins: ${JSON.stringify(entry)} is not an origin such as https://admin.example`,
          "allowedOrigins",
        );
      }
      return origin;
    }),
  );
  return (origin) => origins.has(originOf(origin) ?? "");
}

function originOf(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  try {
    const url = new URL(value);
    return url.origin === "null" ? undefined : url.origin;
  } catch {
    return undefined;
  }
}

function sameOrigin(origin: string, request: Request): boolean {
  const normalized = originOf(origin);
  if (normalized === undefined) return false;
  if (normalized === new URL(request.url).origin) return true;
  const host = request.headers.get("host");
  if (host === null) return false;
  try {
    const page = new URL(normalized);
    return new URL(`${page.protocol}//${host}`).host === page.host;
  } catch {
    return false;
  }
}

/**
 * Why a request that changes something is refused before `authorize` runs, or undefined: it must be
 * `application/json` and carry `X-Sguild-Console: 1` (no cross-site form can send either, and a
 * cross-site fetch with them needs a CORS preflight the console never grants), and its `Origin`,
 * when the browser sends one, must be allowed.
 */
export function crossSiteRefusal(request: Request, allowed: OriginPolicy): string | undefined {
  if (request.headers.get("x-sguild-console") !== "1")
    return "a console request that changes something must carry the header X-Sguild-Console: 1";
  if (!hasMediaType(request, "application/json"))
    return "a console request that changes something must be sent as content-type: application/json";
  const origin = request.headers.get("origin");
  if (origin !== null && !allowed(origin, request)) return `pages at ${JSON.stringify(origin)} may not operate this console`;
  return undefined;
}
