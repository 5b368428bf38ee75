import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-sguild-signature";
export const TIMESTAMP_HEADER = "x-sguild-timestamp";
export const KEY_ID_HEADER = "x-sguild-key-id";

const mac = (secret: string, timestamp: string, body: string) => createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
const SIGNATURE_FORMAT = /^v1=[0-9a-f]{64}$/;

/** Headers signing `body`: HMAC-SHA256 over "<unix seconds>.<body>", with the key id for rotation. */
export function signBody(body: string, key: { id: string; secret: string }, now = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(now / 1000));
  return { [KEY_ID_HEADER]: key.id, [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: `v1=${mac(key.secret, timestamp, body)}` };
}

export type SignatureCheck =
  | { ok: true; keyId: string }
  | { ok: false; code: "MISSING_SIGNATURE" | "UNKNOWN_KEY_ID" | "STALE_TIMESTAMP" | "BAD_SIGNATURE"; message: string };

/** Signature headers that passed every check that does not need the body. */
export interface SignatureHeaders {
  ok: true;
  keyId: string;
  timestamp: string;
  signature: string;
  secret: string;
}

/**
 * Checks what can be checked without the body: the three headers are present and well-formed, the key
 * id is active and the timestamp is within the replay window. The inbox runs it before reading a byte.
 */
export function checkSignatureHeaders(
  headers: Headers,
  keys: Readonly<Record<string, string>>,
  toleranceMs: number,
  now = Date.now(),
): SignatureHeaders | Extract<SignatureCheck, { ok: false }> {
  const keyId = headers.get(KEY_ID_HEADER);
  const timestamp = headers.get(TIMESTAMP_HEADER);
  const signature = headers.get(SIGNATURE_HEADER);
  if (!keyId || !timestamp || !signature) {
    return { ok: false, code: "MISSING_SIGNATURE", message: `${KEY_ID_HEADER}, ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER} are required` };
  }
  const secret = Object.hasOwn(keys, keyId) ? keys[keyId] : undefined;
  if (!secret) return { ok: false, code: "UNKNOWN_KEY_ID", message: `key id "${keyId}" is not an active key` };
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now - Number(timestamp) * 1000) > toleranceMs) {
    return { ok: false, code: "STALE_TIMESTAMP", message: `timestamp is outside the ${Math.round(toleranceMs / 1000)} s window` };
  }
  if (!SIGNATURE_FORMAT.test(signature))
    return { ok: false, code: "BAD_SIGNATURE", message: `${SIGNATURE_HEADER} must be v1=<64 hex digits>` };
  return { ok: true, keyId, timestamp, signature, secret };
}

/** Verifies the HMAC of `body` against headers that passed checkSignatureHeaders. */
export function verifyBodySignature(checked: SignatureHeaders, body: string): SignatureCheck {
  const expected = Buffer.from(`v1=${mac(checked.secret, checked.timestamp, body)}`);
  const given = Buffer.from(checked.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, code: "BAD_SIGNATURE", message: "signature does not match the body" };
  }
  return { ok: true, keyId: checked.keyId };
}

/** Verifies a request's signature against the active keys and the replay window. */
export function verifySignature(
  headers: Headers,
  body: string,
  keys: Readonly<Record<string, string>>,
  toleranceMs: number,
  now = Date.now(),
): SignatureCheck {
  const checked = checkSignatureHeaders(headers, keys, toleranceMs, now);
  return checked.ok ? verifyBodySignature(checked, body) : checked;
}
