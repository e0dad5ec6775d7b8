// Ed25519 as the simulated CAS uses it: its CAS, software and audit keys (from 32-byte seeds in cas.key-store),
// report and audit signatures, and checking session signatures. Signatures travel as 128 lower-case hex characters.
import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { hex, unhex } from "./codec.ts";

// DER headers that wrap a raw 32-byte key into PKCS#8 / SPKI for id-Ed25519 (OID 1.3.101.112, RFC 8410).
const PKCS8_HEADER = "302e020100300506032b657004220420";
const SPKI_HEADER = "302a300506032b6570032100";

export interface SigningKey {
  readonly seed: Uint8Array;
  /** Raw 32-byte public key. */
  readonly publicKey: Uint8Array;
}

export function signingKeyOfSeed(seed: Uint8Array): SigningKey {
  if (seed.length !== 32) throw new Error(`Ed25519 seed: expected 32 bytes, got ${seed.length}`);
  const privateKey = createPrivateKey({
    key: Buffer.from(PKCS8_HEADER + hex(seed), "hex"),
    format: "der",
    type: "pkcs8",
  });
  const spki = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  return { seed, publicKey: new Uint8Array(spki.subarray(SPKI_HEADER.length / 2)) };
}

/** SPKI DER of a raw Ed25519 public key. */
export function ed25519SpkiOf(publicKey: Uint8Array): Uint8Array {
  return new Uint8Array([...unhex(SPKI_HEADER, "SPKI header"), ...publicKey]);
}

/** The raw key of an Ed25519 SPKI DER, or undefined for any other key type. */
export function ed25519OfSpki(spki: Uint8Array): Uint8Array | undefined {
  const header = hex(spki.subarray(0, SPKI_HEADER.length / 2));
  return spki.length === SPKI_HEADER.length / 2 + 32 && header === SPKI_HEADER
    ? spki.slice(SPKI_HEADER.length / 2)
    : undefined;
}

export function signHex(key: SigningKey, message: string): string {
  const privateKey = createPrivateKey({
    key: Buffer.from(PKCS8_HEADER + hex(key.seed), "hex"),
    format: "der",
    type: "pkcs8",
  });
  return hex(sign(null, Buffer.from(message, "utf8"), privateKey));
}

/** Whether `signatureHex` is `publicKey`'s signature over `message`; a malformed key or signature is just false. */
export function verifyHex(publicKey: Uint8Array, message: string, signatureHex: string): boolean {
  if (publicKey.length !== 32 || !/^[0-9a-fA-F]{128}$/.test(signatureHex)) return false;
  try {
    const key = createPublicKey({ key: Buffer.from(ed25519SpkiOf(publicKey)), format: "der", type: "spki" });
    return verify(null, Buffer.from(message, "utf8"), key, Buffer.from(signatureHex, "hex"));
  } catch {
    return false;
  }
}
