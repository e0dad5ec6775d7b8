// Who a caller is to the simulated CAS (README "Identity", "Key hash format", "Signed sessions"): a public key,
// named by its key hash base58(0x01 ‖ sha256(SPKI DER) ‖ checksum4), or — for an Ed25519 session-signing key — by
// its signer string base58(0xED ‖ raw key ‖ checksum4), which carries the key so a signature can be checked.
import { createPublicKey, X509Certificate } from "node:crypto";
import { base58Check, fromBase58Check, sha256 } from "./codec.ts";
import { ed25519OfSpki, ed25519SpkiOf } from "./keys-ed25519.ts";

const KEY_HASH_TAG = 0x01;
const SIGNER_TAG = 0xed;
/** Tag of the one string a signing key is known by inside this simulator (creators, access checks). */
export const SIGNER_PRINCIPAL_TAG = SIGNER_TAG;

export const keyHashOfSpki = (spki: Uint8Array): string => base58Check(KEY_HASH_TAG, sha256(spki));

/** Key hash of a raw Ed25519 public key (the CAS key hash and software key hash on the console). */
export const keyHashOfEd25519 = (publicKey: Uint8Array): string => keyHashOfSpki(ed25519SpkiOf(publicKey));

/** The public key (SPKI DER) a certificate carries, given as PEM text or DER bytes. */
export function spkiOfCertificate(cert: string | Uint8Array): Uint8Array {
  const parsed = new X509Certificate(typeof cert === "string" ? cert : Buffer.from(cert));
  return new Uint8Array(parsed.publicKey.export({ type: "spki", format: "der" }));
}

/** Version byte of the older SCONE signer strings (Base58Check, double SHA-256 checksum, Ed25519 key). */
const LEGACY_SIGNER_VERSION = 0x0a;

/**
 * The raw Ed25519 key a signer names, or undefined when it names none. Accepted forms: a PEM SPKI block (what
 * `scone self show-session-signing-key` prints, SCONE-CLI §5), the older one-line Base58Check value (version 10,
 * e.g. the upstream SignedPolicy sample's `N2exBX7T…`), and this simulator's own `base58(0xED ‖ key ‖ checksum4)`.
 */
export function keyOfSigner(signer: string): Uint8Array | undefined {
  const text = signer.trim();
  if (text.startsWith("-----BEGIN PUBLIC KEY-----")) {
    try {
      return ed25519OfSpki(new Uint8Array(createPublicKey(text).export({ type: "spki", format: "der" })));
    } catch {
      return undefined;
    }
  }
  return fromBase58Check(text, SIGNER_TAG, 32) ?? fromBase58Check(text, LEGACY_SIGNER_VERSION, 32, "sha256d");
}

/**
 * A session signer (SCONE-CLI §5, §6: Ed25519 or P-384): its principal — the signer string of an Ed25519 key, the key
 * hash of a P-384 PEM key — and the raw Ed25519 key when it is one (the only kind this simulator verifies with).
 */
export function signerOf(signer: string): { principal: string; ed25519?: Uint8Array } | undefined {
  const key = keyOfSigner(signer);
  if (key) return { principal: base58Check(SIGNER_TAG, key), ed25519: key };
  const text = signer.trim();
  if (!text.startsWith("-----BEGIN PUBLIC KEY-----")) return undefined;
  try {
    const pub = createPublicKey(text);
    if (pub.asymmetricKeyType !== "ec" || pub.asymmetricKeyDetails?.namedCurve !== "secp384r1") return undefined;
    return { principal: keyHashOfSpki(new Uint8Array(pub.export({ type: "spki", format: "der" }))) };
  } catch {
    return undefined;
  }
}

/** One name per signing key whatever form named it (access policies and creators compare these). */
export function signerPrincipal(signer: string): string | undefined {
  return signerOf(signer)?.principal;
}

/**
 * The principal a PEM (public key, private key or certificate) in an access policy's `signer:` entry stands for:
 * its signer string when it is an Ed25519 key, else its key hash. Throws on unreadable PEM.
 */
export function principalOfPem(pem: string): string {
  const spki = pem.includes("BEGIN CERTIFICATE")
    ? spkiOfCertificate(pem)
    : new Uint8Array(createPublicKey(pem).export({ type: "spki", format: "der" }));
  const ed25519 = ed25519OfSpki(spki);
  return ed25519 ? base58Check(SIGNER_TAG, ed25519) : keyHashOfSpki(spki);
}
