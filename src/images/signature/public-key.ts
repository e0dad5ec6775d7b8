// A cosign public key (PEM, SubjectPublicKeyInfo) and the signature check cosign's key types need: ECDSA over
// the curve's hash (P-256/SHA-256 is what `cosign generate-key-pair` makes; P-384/SHA-384, P-521/SHA-512 as cosign
// maps them), ASN.1 DER signatures; Ed25519 over the payload itself. RSA keys are refused by name: cosign's
// RSA padding choice is not implemented here, and a key that is accepted must be checked exactly as cosign does.

import { createPublicKey, type KeyObject, verify } from "node:crypto";

/** At most this many bytes of PEM: a public key is a few hundred. */
export const MAX_KEY_PEM_BYTES = 16 * 1024;
/** DER ECDSA P-521 signatures are at most 139 bytes; Ed25519 64. Anything larger is not a signature. */
export const MAX_SIGNATURE_BYTES = 512;

export interface SignatureKey {
  /** What the key is called in messages: its file, or "the Scontain key". */
  readonly name: string;
  /** e.g. "ECDSA P-256". */
  readonly kind: string;
  /** Whether `signature` is this key's signature of `payload`. Never throws on malformed signatures. */
  verify(payload: Uint8Array, signature: Uint8Array): boolean;
}

/** A key that cannot be used; the message names the key and the fix. */
export class KeyError extends Error {
  override name = "KeyError";
}

const EC_HASH: Readonly<Record<string, { hash: string; kind: string }>> = {
  prime256v1: { hash: "sha256", kind: "ECDSA P-256" },
  secp384r1: { hash: "sha384", kind: "ECDSA P-384" },
  secp521r1: { hash: "sha512", kind: "ECDSA P-521" },
};

/** Parses a PEM public key (as `cosign generate-key-pair` writes cosign.pub). */
export function parsePublicKey(pem: string, name: string): SignatureKey {
  if (Buffer.byteLength(pem) > MAX_KEY_PEM_BYTES)
    throw new KeyError(`${name}: larger than ${MAX_KEY_PEM_BYTES} bytes; give the PEM public key (cosign.pub)`);
  if (!/-----BEGIN PUBLIC KEY-----/.test(pem))
    throw new KeyError(
      `${name}: not a PEM public key (no "-----BEGIN PUBLIC KEY-----"); give the public half (cosign.pub), never the private key`,
    );
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch (e) {
    throw new KeyError(`${name}: the PEM public key does not parse (${e instanceof Error ? e.message : String(e)})`);
  }
  const type = key.asymmetricKeyType;
  if (type === "ed25519") {
    return { name, kind: "Ed25519", verify: (payload, sig) => safeVerify(null, payload, key, sig) };
  }
  if (type === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? "";
    const ec = EC_HASH[curve];
    if (!ec)
      throw new KeyError(
        `${name}: ECDSA curve ${curve || "unknown"} is not one cosign signs with (P-256, P-384, P-521)`,
      );
    return { name, kind: ec.kind, verify: (payload, sig) => safeVerify(ec.hash, payload, key, sig) };
  }
  throw new KeyError(
    `${name}: ${type ?? "unknown"} keys are not supported; use an ECDSA (cosign generate-key-pair) or Ed25519 key`,
  );
}

function safeVerify(hash: string | null, payload: Uint8Array, key: KeyObject, sig: Uint8Array): boolean {
  if (sig.byteLength === 0 || sig.byteLength > MAX_SIGNATURE_BYTES) return false;
  try {
    // ECDSA: dsaEncoding "der" is what cosign stores (ASN.1); a raw r||s signature does not verify.
    return verify(hash, payload, hash === null ? key : { key, dsaEncoding: "der" }, sig);
  } catch {
    return false;
  }
}
