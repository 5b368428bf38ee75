import { createConsole, type ConsoleAccess, type ConsoleOptions, type Dispatcher } from "../src/index.js";

export const ORIGIN = "https://admin.example";
export const BASE = "/dispatcher/console";

/** Bearer tokens the tests' authorize hook knows: "reader" may read, "ops" may read and operate. */
export function testAuthorize(calls: Array<{ path: string; access: ConsoleAccess }> = []): ConsoleOptions["authorize"] {
  return (request, access) => {
    calls.push({ path: new URL(request.url).pathname, access });
    const token = request.headers.get("authorization");
    if (token === null) return { allowed: false, status: 401 };
    if (token === "Bearer ops") return true;
    if (token === "Bearer reader") return access === "read" ? { allowed: true } : { allowed: false, reason: "operators only" };
    return false;
  };
}

export interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

/** Drives the console as its page does: `fetch("api/...")` from the page's origin, POSTs as JSON with X-Sguild-Console: 1. */
export function consoleClient(dispatcher: Dispatcher, options: Partial<ConsoleOptions> = {}) {
  const handler = createConsole({ dispatcher, authorize: testAuthorize(), ...options });
  const send = async (request: Request): Promise<Answer> => {
    const response = await handler(request);
    const text = await response.text();
    const isJson = response.headers.get("content-type")?.startsWith("application/json") === true;
    return { status: response.status, body: isJson ? JSON.parse(text) : text, headers: response.headers };
  };
  return {
    handler,
    get: (path: string, token = "ops") =>
      send(new Request(`${ORIGIN}${BASE}/api/${path}`, { headers: { accept: "application/json", authorization: `Bearer ${token}` } })),
    post: (path: string, body: unknown, token = "ops") =>
      send(
        new Request(`${ORIGIN}${BASE}/api/${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-sguild-console": "1", origin: ORIGIN, authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        }),
      ),
    send,
  };
}

/** The JSON the API answers for a value (dates as ISO strings). */
export const asJson = (value: unknown) => JSON.parse(JSON.stringify(value));
