// Byte encodings the simulated CAS speaks (its own implementation, written from sim/cas/README.md; scone's client has
// its own in src/cas/ — the two meet only on the wire, and test/unit/sim/cas/formats.test.ts pins the formats to
// recorded examples): hex, base64, SHA-256, canonical JSON, and base58 with a tag byte and a 4-byte checksum.

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

/** Hex to bytes; an odd length or a non-hex digit is an error naming `field`. */
export function unhex(text: string, field: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new Error(`${field}: expected hex, got ${text.length} chars`);
  return new Uint8Array(Buffer.from(text, "hex"));
}

/** Base64 to bytes; anything outside the base64 alphabet is an error naming `field`. */
export function unbase64(text: string, field: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text.replace(/\s+/g, ""))) throw new Error(`${field}: expected base64`);
  return new Uint8Array(Buffer.from(text, "base64"));
}

// Bun's native hasher, not node:crypto: loading that module costs a CLI process started per call ≈3 ms.
export function sha256(data: string | Uint8Array): Uint8Array {
  return new Uint8Array(new Bun.CryptoHasher("sha256").update(data).digest());
}

/**
 * The byte string the CAS hashes and signs: JSON without whitespace, object keys sorted (UTF-16 order) at every
 * level, undefined members dropped (undefined elsewhere reads as null), non-finite numbers refused.
 */
export function canonicalJson(value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(",")}]`;
  if (typeof value === "object") {
    const members: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) members.push(`${JSON.stringify(key)}:${canonicalJson(member)}`);
    }
    return `{${members.join(",")}}`;
  }
  if (typeof value === "number" && !Number.isFinite(value)) throw new Error("canonicalJson: non-finite number");
  return JSON.stringify(value);
}

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

function base58(bytes: Uint8Array): string {
  const leadingZeros = bytes.findIndex((b) => b !== 0);
  let n = BigInt(`0x${hex(bytes) || "0"}`);
  const digits: string[] = [];
  for (; n > 0n; n /= 58n) digits.push(ALPHABET[Number(n % 58n)]!);
  return "1".repeat(leadingZeros < 0 ? bytes.length : leadingZeros) + digits.reverse().join("");
}

function unbase58(text: string): Uint8Array | undefined {
  let n = 0n;
  for (const ch of text) {
    const digit = ALPHABET.indexOf(ch);
    if (digit < 0) return undefined;
    n = n * 58n + BigInt(digit);
  }
  const body = n === 0n ? "" : n.toString(16);
  const ones = text.length - text.replace(/^1+/, "").length;
  return new Uint8Array([...new Uint8Array(ones), ...Buffer.from(body.length % 2 ? `0${body}` : body, "hex")]);
}

/** base58(tag ‖ payload ‖ sha256(tag ‖ payload)[0..4]). */
export function base58Check(tag: number, payload: Uint8Array): string {
  const body = new Uint8Array([tag, ...payload]);
  return base58(new Uint8Array([...body, ...sha256(body).subarray(0, 4)]));
}

/**
 * The payload of a base58Check string with this tag and payload length, or undefined when it is anything else.
 * `checksum`: "sha256" (this simulator's own strings) or "sha256d" (double SHA-256, the Bitcoin-style Base58Check of
 * the older SCONE signer strings, version byte 10 — the upstream SignedPolicy sample's signer decodes so).
 */
export function fromBase58Check(
  text: string,
  tag: number,
  payloadLength: number,
  checksum: "sha256" | "sha256d" = "sha256",
): Uint8Array | undefined {
  // Decoding is quadratic in the length: a string longer than the encoding can be is refused unread.
  if (text.length > 2 * (payloadLength + 5)) return undefined;
  const bytes = unbase58(text);
  if (bytes?.length !== payloadLength + 5 || bytes[0] !== tag) return undefined;
  const body = bytes.subarray(0, payloadLength + 1);
  const sum = checksum === "sha256" ? sha256(body) : sha256(sha256(body));
  return Buffer.from(sum.subarray(0, 4)).equals(bytes.subarray(payloadLength + 1)) ? body.slice(1) : undefined;
}
