import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener, RequestError } from "@hono/node-server";
import { problem } from "./responses.js";

/**
 * Serves a Web-standard handler from Node's http: `http.createServer(toNodeHandler(routes)).listen(3000)`.
 *
 * Node's side is `@hono/node-server`'s request listener (maintained, used by every Hono app on Node):
 * it builds the headers from the raw header lines (a repeated line is kept, joined with ", ", Cookie
 * lines with "; "; Node's `req.headers` would keep only the first Authorization or Content-Type),
 * turns the body into a pull stream (read from the socket as the handler reads, never buffered
 * whole), writes the response with backpressure, sends each Set-Cookie as its own line, aborts
 * `request.signal` when the client goes away, and cleans up what is left of an unread body. Around
 * it, what that listener does not do the way the dispatcher needs:
 * - The Request URL is `http://localhost` plus the path and query of the request target: the listener
 *   builds it from the Host header or an absolute-form target, and it has no option to stop that.
 * - A handler that throws answers 500 `{"error":{"code":"INTERNAL",...}}` without its message; a
 *   request that cannot be represented (a malformed Host header or target, a TRACE) answers 400 INVALID_REQUEST.
 * - A response to a request whose body was not read to its end says `Connection: close`, and the
 *   connection is closed after it (the listener would keep it open and read on for up to 500 ms or 64 MB).
 * - A response body that fails cuts the connection: never a success status with a truncated body, and
 *   never the error's message (the listener would send "Error: <message>" or log it to the console).
 * The listener never replaces the global Request and Response (its default does).
 */
export function toNodeHandler(handler: (request: Request) => Promise<Response>): (req: IncomingMessage, res: ServerResponse) => void {
  const listener = getRequestListener(
    async (adapted, env) => {
      const { incoming, outgoing } = env as { incoming: IncomingMessage; outgoing: ServerResponse };
      let response: Response;
      try {
        const request = toRequest(incoming, adapted);
        try {
          response = await handler(request);
        } catch {
          response = internalError();
        }
      } catch {
        response = invalidRequest();
      }
      return toOutgoing(response, incoming, outgoing);
    },
    {
      overrideGlobalObjects: false,
      // Used only when a request has no Host header (HTTP/1.0): the listener refuses one otherwise.
      hostname: "localhost",
      // Before the handler: the listener could not read the request line or Host. Nothing more is read.
      errorHandler: (error) => {
        const response = error instanceof RequestError ? invalidRequest() : internalError();
        response.headers.set("connection", "close");
        return response;
      },
    },
  );
  return (req, res) => {
    listener(req, res).catch(() => res.destroy());
  };
}

const internalError = () => problem(500, "INTERNAL", "internal error");
const invalidRequest = () => problem(400, "INVALID_REQUEST", "the request line or a header is malformed");

/** The listener's request (its headers, its body pull stream, its abort signal) at our URL. */
function toRequest(incoming: IncomingMessage, adapted: Request): Request {
  const hasBody = incoming.method !== "GET" && incoming.method !== "HEAD";
  return new Request(requestUrl(incoming.url), {
    method: adapted.method,
    headers: adapted.headers,
    signal: adapted.signal,
    ...(hasBody ? { body: adapted.body, duplex: "half" } : {}),
  } as RequestInit);
}

/** `http://localhost` + path and query of the request target (origin-form or absolute-form). */
function requestUrl(target = "/"): string {
  if (target.startsWith("/")) return `http://localhost${target}`;
  try {
    const parsed = new URL(target);
    return `http://localhost${parsed.pathname}${parsed.search}`;
  } catch {
    return "http://localhost/";
  }
}

/**
 * The handler's response as it goes out. A request whose body was not read to its end (an early
 * refusal, a body limit) gets `Connection: close`: Node then closes the connection after the
 * response instead of reading and discarding the rest. The body is read through a guard: if it
 * fails, the connection is destroyed (the status may already be on the wire, and a clean end would
 * claim success) and the stream ends quietly, so the listener neither sends nor logs the error.
 */
function toOutgoing(response: Response, incoming: IncomingMessage, outgoing: ServerResponse): Response {
  const headers = new Headers(response.headers);
  if (!incoming.complete) headers.set("connection", "close");
  const init = { status: response.status, statusText: response.statusText, headers };
  if (!response.body) return new Response(null, init);
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch {
          outgoing.destroy();
          controller.close();
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  return new Response(body, init);
}
