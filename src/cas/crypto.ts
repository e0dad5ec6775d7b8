// The cryptography scone's own code still needs: the audit-log index check (src/cas/audit.ts, table row
// audit-chain-local — an index hint, no verdict) verifies Ed25519 signatures over canonical JSON. The rest of the old
// client's primitives (key hashes, signer strings, the sealed box) were formats of our own for unpublished SCONE ones
// and live on only as test support (test/support/cas-legacy/crypto.ts).

const encoder = new TextEncoder();

/** WebCrypto wants ArrayBuffer-backed views; copying keeps every caller free of that distinction. */
function buf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Strict hex decoding: an odd length or a non-hex character is an error naming `what`. */
export function fromHex(hex: string, what = "value"): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex))
    throw new Error(`${what}: expected hex, got ${hex.length} chars`);
  return new Uint8Array(Buffer.from(hex, "hex"));
}

/**
 * JSON with object keys sorted at every level and no whitespace: the byte string we hash and sign, so the same value
 * always yields the same bytes whatever order its producer wrote the keys in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (value === undefined) return "null";
    if (typeof value === "number" && !Number.isFinite(value)) throw new Error("canonicalJson: non-finite number");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** False (never a throw) for a malformed key or signature: callers treat every failure the same way. */
export async function ed25519Verify(
  publicKey: Uint8Array,
  message: string | Uint8Array,
  signatureHex: string,
): Promise<boolean> {
  if (publicKey.length !== 32 || !/^[0-9a-fA-F]{128}$/.test(signatureHex)) return false;
  try {
    const key = await crypto.subtle.importKey("raw", buf(publicKey), { name: "Ed25519" }, false, ["verify"]);
    const data = typeof message === "string" ? utf8(message) : message;
    return await crypto.subtle.verify("Ed25519", key, buf(fromHex(signatureHex)), buf(data));
  } catch {
    return false;
  }
}
