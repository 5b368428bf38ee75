import { connect } from "node:net";

export interface RawResponse {
  /** Everything the server sent before it closed the connection, as latin1 text. */
  text: string;
  status: number | undefined;
  /** The header lines as sent, `name: value`, names lower-cased, in order. */
  headerLines: string[];
  body: string;
}

/**
 * Sends `head` (request line and header lines, without the blank line) and `body` over a fresh TCP
 * connection exactly as written, so repeated header lines, a missing Host or an odd target reach the
 * server as they are, and reads until the server closes. Send `Connection: close` to have it close.
 */
export function rawRequest(url: string, head: string[], body = ""): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "ECONNRESET") reject(error);
    });
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const [headText = "", ...rest] = text.split("\r\n\r\n");
      const [statusLine = "", ...lines] = headText.split("\r\n");
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
      resolve({
        text,
        status: status === undefined ? undefined : Number(status),
        headerLines: lines.filter(Boolean).map((line) => line.replace(/^[^:]+/, (name) => name.toLowerCase())),
        body: rest.join("\r\n\r\n"),
      });
    });
    socket.write(`${head.join("\r\n")}\r\n\r\n${body}`);
  });
}
