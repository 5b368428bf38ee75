import type { IncomingMessage, ServerResponse } from "node:http";

const INTERNAL = '{"error":{"code":"INTERNAL","message":"internal error"}}';

/**
 * Serves a Web-standard handler from Node's http: `http.createServer(toNodeHandler(routes)).listen(3000)`.
 * The Request's URL is `http://localhost` plus the path and query: the Host header never reaches it.
 * The body is a pull stream (one chunk read per read, nothing buffered ahead), so a handler that
 * refuses early or stops at its body limit never makes this read the rest; such a connection is
 * closed after the response.
 */
export function toNodeHandler(handler: (request: Request) => Promise<Response>): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void (async () => {
      const hasBody = req.method !== "GET" && req.method !== "HEAD";
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers.set(name, value);
      const request = new Request(requestUrl(req.url), {
        method: req.method,
        headers,
        body: hasBody ? pullBody(req) : undefined,
        ...(hasBody ? { duplex: "half" } : {}),
      } as RequestInit);
      const response = await handler(request);
      const outgoing = Object.fromEntries(response.headers);
      if (!req.complete) outgoing["connection"] = "close";
      res.writeHead(response.status, outgoing);
      await writeBody(response, res);
    })().catch(() => {
      if (res.headersSent) return void res.destroy();
      res.writeHead(500, { "content-type": "application/json; charset=utf-8", ...(req.complete ? {} : { connection: "close" }) });
      res.end(INTERNAL);
    });
  };
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

/** The request body as a Web stream that reads one chunk from the socket per pull. */
function pullBody(req: IncomingMessage): ReadableStream<Uint8Array> {
  req.pause();
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (req.readableEnded) return controller.close();
        if (req.errored) throw req.errored;
        return new Promise<void>((resolve, reject) => {
          const done = () => {
            req.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
          };
          const onData = (chunk: Buffer) => {
            req.pause();
            done();
            controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
            resolve();
          };
          const onEnd = () => {
            done();
            controller.close();
            resolve();
          };
          const onError = (error: Error) => {
            done();
            reject(error);
          };
          const onClose = () => {
            done();
            reject(new Error("the request was aborted"));
          };
          req.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
          req.resume();
        });
      },
      // The handler stopped reading (a body limit): the rest is discarded as it arrives, never kept,
      // and the connection is closed after the response.
      cancel() {
        req.resume();
      },
    },
    { highWaterMark: 0 },
  );
}

async function writeBody(response: Response, res: ServerResponse): Promise<void> {
  if (!response.body) return void res.end();
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!res.write(value)) await new Promise<void>((resolve) => res.once("drain", resolve));
  }
  res.end();
}
