import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { KEY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signBody, verifySignature } from "../../src/fanout/signature.js";

const T = 1_700_000_000_000; // a whole second, so the signed timestamp is exactly T / 1000
const TOLERANCE = 300_000;
const KEYS = { k1: "s3cret", k2: "rotated" };
const BODY = `{"a":1}`;

const signed = (body = BODY, key = { id: "k1", secret: "s3cret" }, at = T) => new Headers(signBody(body, key, at));
const hmac = (secret: string, text: string) => createHmac("sha256", secret).update(text).digest("hex");
function withHeader(name: string, value: string | null, headers = signed()): Headers {
  if (value === null) headers.delete(name);
  else headers.set(name, value);
  return headers;
}

describe("verifySignature", () => {
  it("accepts what signBody signed: HMAC-SHA256 of '<unix seconds>.<body>' with the key id", () => {
    expect(signBody(BODY, { id: "k1", secret: "s3cret" }, T + 999)).toEqual({
      [KEY_ID_HEADER]: "k1",
      [TIMESTAMP_HEADER]: "1700000000",
      [SIGNATURE_HEADER]: `v1=${hmac("s3cret", `1700000000.${BODY}`)}`,
    });
    expect(verifySignature(signed(), BODY, KEYS, TOLERANCE, T)).toEqual({ ok: true, keyId: "k1" });
  });

  it("accepts any active key (rotation) and reports which one", () => {
    expect(verifySignature(signed(BODY, { id: "k2", secret: "rotated" }), BODY, KEYS, TOLERANCE, T)).toEqual({ ok: true, keyId: "k2" });
  });

  it("reads the headers case-insensitively", () => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(signBody(BODY, { id: "k1", secret: "s3cret" }, T))) headers.set(name.toUpperCase(), value);
    expect(verifySignature(headers, BODY, KEYS, TOLERANCE, T)).toEqual({ ok: true, keyId: "k1" });
  });

  it.each([KEY_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER])("answers MISSING_SIGNATURE without %s", (name) => {
    expect(verifySignature(withHeader(name, null), BODY, KEYS, TOLERANCE, T)).toMatchObject({ ok: false, code: "MISSING_SIGNATURE" });
    expect(verifySignature(withHeader(name, ""), BODY, KEYS, TOLERANCE, T)).toMatchObject({ ok: false, code: "MISSING_SIGNATURE" });
  });

  it("answers MISSING_SIGNATURE for an unsigned request", () => {
    expect(verifySignature(new Headers(), BODY, KEYS, TOLERANCE, T)).toMatchObject({ ok: false, code: "MISSING_SIGNATURE" });
  });

  it.each(["k3", "K1", "__proto__", "toString", "constructor", "hasOwnProperty"])("answers UNKNOWN_KEY_ID for the key id %j", (keyId) => {
    expect(verifySignature(withHeader(KEY_ID_HEADER, keyId), BODY, KEYS, TOLERANCE, T)).toMatchObject({
      ok: false,
      code: "UNKNOWN_KEY_ID",
    });
  });

  it("answers UNKNOWN_KEY_ID for a key with an empty secret and when no key is active", () => {
    const headers = signed(BODY, { id: "blank", secret: "" });
    expect(verifySignature(headers, BODY, { blank: "" }, TOLERANCE, T)).toMatchObject({ ok: false, code: "UNKNOWN_KEY_ID" });
    expect(verifySignature(signed(), BODY, {}, TOLERANCE, T)).toMatchObject({ ok: false, code: "UNKNOWN_KEY_ID" });
  });

  it("accepts a timestamp exactly at either edge of the window and refuses one millisecond beyond", () => {
    expect(verifySignature(signed(), BODY, KEYS, TOLERANCE, T + TOLERANCE)).toEqual({ ok: true, keyId: "k1" });
    expect(verifySignature(signed(), BODY, KEYS, TOLERANCE, T - TOLERANCE)).toEqual({ ok: true, keyId: "k1" });
    expect(verifySignature(signed(), BODY, KEYS, TOLERANCE, T + TOLERANCE + 1)).toMatchObject({ ok: false, code: "STALE_TIMESTAMP" });
    expect(verifySignature(signed(), BODY, KEYS, TOLERANCE, T - TOLERANCE - 1)).toMatchObject({ ok: false, code: "STALE_TIMESTAMP" });
    expect(verifySignature(signed(), BODY, KEYS, 0, T)).toEqual({ ok: true, keyId: "k1" });
    expect(verifySignature(signed(), BODY, KEYS, 0, T + 1)).toMatchObject({ ok: false, code: "STALE_TIMESTAMP" });
  });

  it.each(["1700000000.5", "-1700000000", "1e9", "abc", "1700000000000", "0x6553f100"])(
    "answers STALE_TIMESTAMP for the malformed timestamp %j",
    (timestamp) => {
      const headers = withHeader(TIMESTAMP_HEADER, timestamp);
      expect(verifySignature(headers, BODY, KEYS, Number.MAX_SAFE_INTEGER, T)).toMatchObject({ ok: false, code: "STALE_TIMESTAMP" });
    },
  );

  it.each([
    ["63 hex digits", `v1=${"a".repeat(63)}`],
    ["65 hex digits", `v1=${"a".repeat(65)}`],
    ["upper-case hex", `v1=${hmac("s3cret", `1700000000.${BODY}`).toUpperCase()}`],
    ["another version", `v2=${hmac("s3cret", `1700000000.${BODY}`)}`],
    ["no version", hmac("s3cret", `1700000000.${BODY}`)],
  ])("answers BAD_SIGNATURE for a signature with %s", (_, signature) => {
    expect(verifySignature(withHeader(SIGNATURE_HEADER, signature), BODY, KEYS, TOLERANCE, T)).toMatchObject({
      ok: false,
      code: "BAD_SIGNATURE",
    });
  });

  it("answers BAD_SIGNATURE when the body, the timestamp or the secret differs", () => {
    expect(verifySignature(signed(), `{"a":2}`, KEYS, TOLERANCE, T)).toEqual({
      ok: false,
      code: "BAD_SIGNATURE",
      message: "signature does not match the body",
    });
    expect(verifySignature(signed(), `${BODY} `, KEYS, TOLERANCE, T)).toMatchObject({ ok: false, code: "BAD_SIGNATURE" });
    expect(verifySignature(signed(), "", KEYS, TOLERANCE, T)).toMatchObject({ ok: false, code: "BAD_SIGNATURE" });
    expect(verifySignature(withHeader(TIMESTAMP_HEADER, "1700000001"), BODY, KEYS, TOLERANCE, T)).toMatchObject({
      ok: false,
      code: "BAD_SIGNATURE",
    });
    expect(verifySignature(signed(BODY, { id: "k1", secret: "wrong" }), BODY, KEYS, TOLERANCE, T)).toMatchObject({
      ok: false,
      code: "BAD_SIGNATURE",
    });
    // signed with k2's secret but naming k1
    expect(verifySignature(signed(BODY, { id: "k1", secret: "rotated" }), BODY, KEYS, TOLERANCE, T)).toMatchObject({
      ok: false,
      code: "BAD_SIGNATURE",
    });
  });

  it("signs and verifies an empty body and a unicode body byte for byte", () => {
    expect(verifySignature(signed(""), "", KEYS, TOLERANCE, T)).toEqual({ ok: true, keyId: "k1" });
    const composed = "café ☕ 🎉"; // é as one code point (NFC)
    expect(verifySignature(signed(composed), composed, KEYS, TOLERANCE, T)).toEqual({ ok: true, keyId: "k1" });
    expect(verifySignature(signed(composed), composed.normalize("NFD"), KEYS, TOLERANCE, T)).toMatchObject({
      ok: false,
      code: "BAD_SIGNATURE",
    });
  });

  it("checks the headers before the body: a stale request is refused as stale whatever its body", () => {
    expect(verifySignature(signed(), "tampered", KEYS, TOLERANCE, T + TOLERANCE + 1)).toMatchObject({ ok: false, code: "STALE_TIMESTAMP" });
    expect(verifySignature(withHeader(KEY_ID_HEADER, "k9"), "tampered", KEYS, TOLERANCE, T + TOLERANCE + 1)).toMatchObject({
      ok: false,
      code: "UNKNOWN_KEY_ID",
    });
  });
});
