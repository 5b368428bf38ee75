import { DispatcherConfigError, PayloadTooLargeError } from "../errors/index.js";
import { DEFAULTS } from "../config/defaults.js";

/** Default body caps: the signed inbox (one CloudEvent or a batch) and the DLQ routes (a small JSON object). */
export const INBOX_MAX_BODY_BYTES = DEFAULTS.inbox.maxBodyBytes;
export const DLQ_MAX_BODY_BYTES = DEFAULTS.http.deadLetterRoutesMaxBodyBytes;

export function bodyLimit(value: number | undefined, fallback: number, owner: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new DispatcherConfigError(`${owner} maxBodyBytes must be a positive integer (got ${String(value)})`, "maxBodyBytes");
  return value;
}

/**
 * Reads the body as UTF-8 text, never more than `maxBytes`: a declared Content-Length above the
 * limit is refused before a byte is read, and a stream that passes it is cancelled at that chunk.
 * Throws PayloadTooLargeError (413).
 */
export async function readLimitedText(request: Request, maxBytes: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\s*\d+\s*$/.test(declared) && Number(declared) > maxBytes) throw new PayloadTooLargeError(maxBytes);
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new PayloadTooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const PARAMETER = `${TOKEN}=(?:${TOKEN}|"(?:[^"\\\\]|\\\\.)*")`;
/** One media type with its parameters (RFC 9110 8.3.1); two Content-Type lines arrive joined by a comma and do not match. */
const MEDIA_TYPE = new RegExp(`^[ \\t]*(${TOKEN}/${TOKEN})[ \\t]*(?:;[ \\t]*(?:${PARAMETER}[ \\t]*)?)*$`);

/**
 * True when the Content-Type is one media type (parameters aside, any case) and it is `mediaType`.
 * Repeated Content-Type lines (joined with ", ") are never a match, whichever comes first.
 */
export function hasMediaType(request: Request, mediaType: string): boolean {
  const value = request.headers.get("content-type");
  const match = value === null ? null : MEDIA_TYPE.exec(value);
  return match !== null && match[1]!.toLowerCase() === mediaType;
}
