import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { toNodeHandler } from "../src/index.js";
import { rawRequest } from "./raw-http.js";

// toNodeHandler over real sockets, byte for byte: the request line and header lines exactly as a
// client (or an attacker) writes them, the response exactly as it goes on the wire.
const servers: Server[] = [];
afterEach(() => vi.restoreAllMocks());
afterAll(async () => {
  for (const server of servers) await new Promise((r) => server.close(r));
});

async function serve(handler: (r: Request) => Promise<Response>): Promise<string> {
  const server = createServer(toNodeHandler(handler));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const echo = () =>
  serve(async (request) =>
    Response.json({
      url: request.url,
      forwardedFor: request.headers.get("x-forwarded-for"),
      cookie: request.headers.get("cookie"),
      setCookie: request.headers.getSetCookie(),
      accept: request.headers.get("accept"),
    }),
  );

describe("request headers: every line arrives", () => {
  it("repeated X-Forwarded-For, Accept and Set-Cookie lines are all kept; Cookie lines are joined with '; '", async () => {
    const response = await rawRequest(await echo(), [
      "GET /h?x=1 HTTP/1.1",
      "Host: 127.0.0.1",
      "X-Forwarded-For: 203.0.113.7",
      "Cookie: session=abc",
      "Accept: application/json",
      "Set-Cookie: a=1",
      "X-Forwarded-For: 198.51.100.9",
      "Cookie: theme=dark",
      "Accept: text/plain",
      "Set-Cookie: b=2",
      "Connection: close",
    ]);
    expect([response.status, JSON.parse(response.body)]).toEqual([
      200,
      {
        url: "http://localhost/h?x=1",
        forwardedFor: "203.0.113.7, 198.51.100.9",
        cookie: "session=abc; theme=dark",
        setCookie: ["a=1", "b=2"],
        accept: "application/json, text/plain",
      },
    ]);
  });

  it("an HTTP/1.0 request without Host is served at http://localhost", async () => {
    const response = await rawRequest(await echo(), ["GET /p HTTP/1.0"]);
    expect([response.status, JSON.parse(response.body).url]).toEqual([200, "http://localhost/p"]);
  });

  it.each([
    ["a Host header that is not a host", ["GET /p HTTP/1.1", "Host: evil.example/x?", "Connection: close"]],
    ["an asterisk target", ["GET * HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]],
    ["TRACE", ["TRACE /p HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]],
  ])("%s: 400 INVALID_REQUEST, the handler never runs", async (_name, head) => {
    let ran = 0;
    const url = await serve(async () => {
      ran += 1;
      return new Response(null, { status: 204 });
    });
    const response = await rawRequest(url, head);
    expect([response.status, JSON.parse(response.body), ran]).toEqual([
      400,
      { error: { code: "INVALID_REQUEST", message: "the request line or a header is malformed" } },
      0,
    ]);
  });
});

describe("responses", () => {
  it("two Set-Cookie headers go out as two lines; other repeated headers as one joined line", async () => {
    const url = await serve(async () => {
      const headers = new Headers({ "content-type": "text/plain" });
      headers.append("set-cookie", "a=1; Path=/; HttpOnly");
      headers.append("set-cookie", "b=2; Path=/");
      headers.append("vary", "accept");
      headers.append("vary", "cookie");
      return new Response("ok", { headers });
    });
    const response = await rawRequest(url, ["GET / HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]);
    expect(response.headerLines.filter((line) => /^(set-cookie|vary):/.test(line))).toEqual([
      "vary: accept, cookie",
      "set-cookie: a=1; Path=/; HttpOnly",
      "set-cookie: b=2; Path=/",
    ]);
    expect([response.status, response.body]).toEqual([200, "ok"]);
  });

  it("a body that fails before its first byte: the connection is cut, nothing sent, nothing logged", async () => {
    const logged = vi.spyOn(console, "error");
    const url = await serve(
      async () =>
        new Response(
          new ReadableStream({
            pull: () => {
              throw new Error("secret at /srv/app/report.ts:9");
            },
          }),
        ),
    );
    const response = await rawRequest(url, ["GET / HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]);
    expect([response.text, logged.mock.calls]).toEqual(["", []]);
  });

  it(
    "a body that fails midway: the status and the bytes already sent, " + "then the connection is cut (no final chunk), nothing logged",
    async () => {
      const logged = vi.spyOn(console, "error");
      let pulls = 0;
      const url = await serve(
        async () =>
          new Response(
            new ReadableStream({
              async pull(controller) {
                pulls += 1;
                if (pulls === 1) return controller.enqueue(new TextEncoder().encode("partial"));
                await new Promise((r) => setTimeout(r, 50));
                throw new Error("secret at /srv/app/report.ts:9");
              },
            }),
          ),
      );
      const response = await rawRequest(url, ["GET / HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]);
      expect([response.status, response.headerLines.includes("transfer-encoding: chunked"), response.body, logged.mock.calls]).toEqual([
        200,
        true,
        "7\r\npartial\r\n",
        [],
      ]);
    },
  );
});

describe("bodies", () => {
  it("a refusal before reading a declared 1 MB body: answered at once with Connection: close, and the server closes", async () => {
    const url = await serve(async () => Response.json({ error: { code: "UNAUTHORIZED", message: "no" } }, { status: 401 }));
    const response = await rawRequest(
      url,
      ["POST /in HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", "Content-Length: 1000000"],
      "{",
    );
    expect([response.status, response.headerLines.includes("connection: close"), JSON.parse(response.body)]).toEqual([
      401,
      true,
      { error: { code: "UNAUTHORIZED", message: "no" } },
    ]);
  });

  it("the body is streamed to the handler as it arrives, and request.signal aborts when the client goes away", async () => {
    let firstChunk = "";
    let aborted: () => void = () => undefined;
    const abortedSeen = new Promise<void>((r) => (aborted = r));
    const url = await serve(async (request) => {
      request.signal.addEventListener("abort", () => aborted());
      const reader = request.body!.getReader();
      firstChunk = new TextDecoder().decode((await reader.read()).value);
      await new Promise(() => undefined); // never answers: only the client leaving ends this request
      return new Response(null);
    });
    const { port } = new URL(url);
    const socket = connect(Number(port), "127.0.0.1");
    socket.write("POST /in HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nhello");
    await expect.poll(() => firstChunk).toBe("hello");
    socket.destroy();
    await abortedSeen;
  });
});
