// Readable, time-sortable ids: "<prefix>-<UTC yyyymmddThhmmss>Z-<8 random base32 chars>".
import { randomBytes } from "node:crypto";

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** Lower-case RFC 4648 base32 of `bytes` random bytes, no padding. */
export function randomBase32(bytes: number): string {
  const data = randomBytes(bytes);
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of data) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(buffer >>> bits) & 31];
    }
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

export function newId(prefix: string, now: number = Date.now()): string {
  const stamp = new Date(now)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${prefix}-${stamp.toLowerCase()}-${randomBase32(5)}`;
}
