// Test support, not production: the primitives of scone's former REST client (removed from src/, issue 13) — hashing,
// key hashes, Ed25519 session signatures and the sealed box — kept for the tests and benches that still speak the
// simulator's old API. What src/ still needs (src/cas/audit.ts) is imported from src/cas/crypto.ts and re-exported.
//
// Formats here are OUR choices where SCONE's are unpublished (key-hash encoding, signer strings, the sealed-box
// layout); they are documented next to each function and in sim/cas/README.md.
import { createHash, createPublicKey, X509Certificate } from "node:crypto";
import { canonicalJson, ed25519Verify, fromHex, utf8 } from "../../../src/cas/crypto.ts";

export { canonicalJson, ed25519Verify, fromHex, utf8 };

/** WebCrypto wants ArrayBuffer-backed views; copying keeps every caller free of that distinction. */
function buf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

async function generateKeyPair(
  algorithm: string,
  usages: ("sign" | "verify" | "deriveBits")[],
): Promise<CryptoKeyPair> {
  const generated: unknown = await crypto.subtle.generateKey({ name: algorithm }, true, usages);
  const pair = generated as Partial<CryptoKeyPair>;
  if (!pair.privateKey || !pair.publicKey) throw new Error(`${algorithm}: runtime returned a single key, not a pair`);
  return { privateKey: pair.privateKey, publicKey: pair.publicKey };
}
const decoder = new TextDecoder();

export function sha256(data: string | Uint8Array): Uint8Array {
  return new Uint8Array(
    createHash("sha256")
      .update(typeof data === "string" ? utf8(data) : data)
      .digest(),
  );
}

export function sha256Hex(data: string | Uint8Array): string {
  return toHex(sha256(data));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

export function fromBase64(text: string, what = "value"): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text.replace(/\s+/g, ""))) throw new Error(`${what}: expected base64`);
  return new Uint8Array(Buffer.from(text, "base64"));
}

// --- base58 (Bitcoin alphabet): compact, no look-alike characters, matches the style of SCONE's key hashes ---------

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

export function base58Encode(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = "";
  while (n > 0n) {
    out = BASE58[Number(n % 58n)] + out;
    n /= 58n;
  }
  return "1".repeat(zeros) + out;
}

export function base58Decode(text: string): Uint8Array | undefined {
  let n = 0n;
  for (const ch of text) {
    const digit = BASE58.indexOf(ch);
    if (digit < 0) return undefined;
    n = n * 58n + BigInt(digit);
  }
  const bytes: number[] = [];
  while (n > 0n) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  let zeros = 0;
  while (zeros < text.length && text[zeros] === "1") zeros++;
  return new Uint8Array([...new Array<number>(zeros).fill(0), ...bytes]);
}

/** Tagged, checksummed base58: tag byte ‖ payload ‖ first 4 bytes of sha256(tag ‖ payload). */
function checkedEncode(tag: number, payload: Uint8Array): string {
  const body = new Uint8Array([tag, ...payload]);
  return base58Encode(new Uint8Array([...body, ...sha256(body).subarray(0, 4)]));
}

function checkedDecode(text: string, tag: number, payloadLength: number): Uint8Array | undefined {
  // base58 spells n bytes in at most ~1.37·n characters; anything longer is refused before the decode, which is
  // quadratic (a 200 000-character signer in a SignedPolicy took 28 s).
  if (text.length > 2 * (1 + payloadLength + 4)) return undefined;
  const bytes = base58Decode(text);
  if (!bytes || bytes.length !== 1 + payloadLength + 4 || bytes[0] !== tag) return undefined;
  const body = bytes.subarray(0, 1 + payloadLength);
  const check = sha256(body).subarray(0, 4);
  if (!check.every((b, i) => b === bytes[1 + payloadLength + i])) return undefined;
  return body.slice(1);
}

const KEY_HASH_TAG = 0x01;
const ED25519_SIGNER_TAG = 0xed;

/**
 * Key hash of a public key (our format): base58(0x01 ‖ sha256(SPKI DER) ‖ checksum4) — about 50 characters, like
 * the key hashes in SCONE's documentation. Identity is the KEY, not the certificate: re-issuing a certificate for the
 * same key keeps the hash (SCONE's access policies match keys, not certificates).
 */
export function keyHashOfSpki(spkiDer: Uint8Array): string {
  return checkedEncode(KEY_HASH_TAG, sha256(spkiDer));
}

/** SPKI DER of a PEM public key, private key or certificate. */
export function spkiOfPem(pem: string): Uint8Array {
  if (pem.includes("BEGIN CERTIFICATE")) return spkiOfCertificate(pem);
  return new Uint8Array(createPublicKey(pem).export({ type: "spki", format: "der" }));
}

/** SPKI DER of a certificate given as PEM text or DER bytes. */
export function spkiOfCertificate(cert: string | Uint8Array): Uint8Array {
  const parsed = new X509Certificate(typeof cert === "string" ? cert : Buffer.from(cert));
  return new Uint8Array(parsed.publicKey.export({ type: "spki", format: "der" }));
}

export function keyHashOfPem(pem: string): string {
  return keyHashOfSpki(spkiOfPem(pem));
}

export function isKeyHash(text: string): boolean {
  return checkedDecode(text, KEY_HASH_TAG, 32) !== undefined;
}

// --- Ed25519 (session signing, CAS report and audit signatures) ------------------------------------------------------

const ED25519_PKCS8_PREFIX = fromHex("302e020100300506032b657004220420");
const ED25519_SPKI_PREFIX = fromHex("302a300506032b6570032100");

export interface Ed25519KeyPair {
  readonly privateKey: CryptoKey;
  /** Raw 32-byte public key. */
  readonly publicKey: Uint8Array;
}

/** The Ed25519 key pair of a 32-byte seed (the form SCONE's CLI config stores: `session_signing_keypair_ed25519_seed`). */
export async function ed25519FromSeed(seed: Uint8Array): Promise<Ed25519KeyPair> {
  if (seed.length !== 32) throw new Error(`Ed25519 seed: expected 32 bytes, got ${seed.length}`);
  const privateKey = await crypto.subtle.importKey(
    "pkcs8",
    new Uint8Array([...ED25519_PKCS8_PREFIX, ...seed]),
    { name: "Ed25519" },
    true,
    ["sign"],
  );
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  if (!jwk.x) throw new Error("Ed25519: runtime did not export the public key");
  return { privateKey, publicKey: new Uint8Array(Buffer.from(jwk.x, "base64url")) };
}

export function newSeed(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

export function ed25519Spki(publicKey: Uint8Array): Uint8Array {
  return new Uint8Array([...ED25519_SPKI_PREFIX, ...publicKey]);
}

/** Signature over `message` as 128 hex characters (64 bytes, the size of the signatures in SCONE's samples). */
export async function ed25519Sign(key: Ed25519KeyPair, message: string | Uint8Array): Promise<string> {
  const data = typeof message === "string" ? utf8(message) : message;
  return toHex(new Uint8Array(await crypto.subtle.sign("Ed25519", key.privateKey, buf(data))));
}

/**
 * Signer string of an Ed25519 public key (our format): base58(0xED ‖ public key ‖ checksum4), ~50 characters.
 * Unlike a key hash it ENCODES the key, because whoever verifies a signed session has only the signer string and
 * the signature to go on. `scone self show-session-signing-key` prints this.
 */
export function signerOfEd25519(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) throw new Error(`Ed25519 public key: expected 32 bytes, got ${publicKey.length}`);
  return checkedEncode(ED25519_SIGNER_TAG, publicKey);
}

/** The public key a signer string encodes, or undefined when it is not a (well-formed) signer string. */
export function ed25519OfSigner(signer: string): Uint8Array | undefined {
  return checkedDecode(signer, ED25519_SIGNER_TAG, 32);
}

/** Signer string of an SPKI PEM when it is an Ed25519 key, else its key hash (access-policy `signer:` entries). */
export function principalOfPublicKeyPem(pem: string): string {
  const spki = spkiOfPem(pem);
  const prefix = spki.subarray(0, ED25519_SPKI_PREFIX.length);
  if (spki.length === 44 && prefix.every((b, i) => b === ED25519_SPKI_PREFIX[i])) {
    return signerOfEd25519(spki.slice(ED25519_SPKI_PREFIX.length));
  }
  return keyHashOfSpki(spki);
}

// --- Sealed box for encrypted sessions ------------------------------------------------------------------------------
// Layout (our format, base64 of): 0x01 ‖ ephemeral X25519 public key (32) ‖ AES-GCM IV (12) ‖ ciphertext ‖ tag (16).
// AES-256-GCM key = HKDF-SHA256(X25519(ephemeral, recipient), salt = ephemeral ‖ recipient, info = SEAL_INFO);
// the recipient's public key is the additional authenticated data, so a box is bound to the CAS it was made for.

const SEAL_VERSION = 0x01;
const SEAL_INFO = utf8("scone-cas encrypted session v1");
const X25519_PKCS8_PREFIX = fromHex("302e020100300506032b656e04220420");

export interface X25519KeyPair {
  /** Raw 32-byte private scalar (stored in the CAS key store). */
  readonly privateKey: Uint8Array;
  /** Raw 32-byte public key; as 64 hex characters this is the CAS "session encryption key". */
  readonly publicKey: Uint8Array;
}

export async function newX25519KeyPair(): Promise<X25519KeyPair> {
  const pair = await generateKeyPair("X25519", ["deriveBits"]);
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { privateKey: pkcs8.slice(X25519_PKCS8_PREFIX.length), publicKey };
}

export async function x25519PublicOf(privateKey: Uint8Array): Promise<Uint8Array> {
  const key = await importX25519Private(privateKey, true);
  const jwk = await crypto.subtle.exportKey("jwk", key);
  if (!jwk.x) throw new Error("X25519: runtime did not export the public key");
  return new Uint8Array(Buffer.from(jwk.x, "base64url"));
}

function importX25519Private(privateKey: Uint8Array, extractable = false): Promise<CryptoKey> {
  if (privateKey.length !== 32) throw new Error(`X25519 private key: expected 32 bytes, got ${privateKey.length}`);
  return crypto.subtle.importKey(
    "pkcs8",
    new Uint8Array([...X25519_PKCS8_PREFIX, ...privateKey]),
    { name: "X25519" },
    extractable,
    ["deriveBits"],
  );
}

async function sealKey(shared: ArrayBuffer, ephemeral: Uint8Array, recipient: Uint8Array): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array([...ephemeral, ...recipient]), info: buf(SEAL_INFO) },
    ikm,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/** Parses a session-encryption key (64 hex characters = raw X25519 public key). */
export function parseSessionEncryptionKey(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new Error("encryption_key: expected 64 hex characters (the CAS session encryption key)");
  }
  return fromHex(hex);
}

/** Encrypts `plaintext` for the holder of `recipientKeyHex`'s private key; returns base64 (EncryptedPolicy.spec.policy). */
export async function sealToKey(plaintext: string, recipientKeyHex: string): Promise<string> {
  const recipient = parseSessionEncryptionKey(recipientKeyHex);
  const ephemeral = await generateKeyPair("X25519", ["deriveBits"]);
  const ephemeralPublic = new Uint8Array(await crypto.subtle.exportKey("raw", ephemeral.publicKey));
  const recipientKey = await crypto.subtle.importKey("raw", buf(recipient), { name: "X25519" }, false, []);
  const shared = await crypto.subtle.deriveBits({ name: "X25519", public: recipientKey }, ephemeral.privateKey, 256);
  const key = await sealKey(shared, ephemeralPublic, recipient);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: buf(recipient) }, key, buf(utf8(plaintext))),
  );
  return toBase64(new Uint8Array([SEAL_VERSION, ...ephemeralPublic, ...iv, ...ciphertext]));
}

/** Opens a sealed box; throws a plain-worded Error when it is malformed or was not made for this key. */
export async function openSealed(sealedBase64: string, privateKey: Uint8Array): Promise<string> {
  const box = fromBase64(sealedBase64, "encrypted_session");
  if (box.length < 1 + 32 + 12 + 16 || box[0] !== SEAL_VERSION) {
    throw new Error("encrypted_session: not a sealed session (unknown version or too short)");
  }
  const ephemeralPublic = box.slice(1, 33);
  const iv = box.slice(33, 45);
  const ciphertext = box.slice(45);
  const recipient = await x25519PublicOf(privateKey);
  const ephemeralKey = await crypto.subtle.importKey("raw", buf(ephemeralPublic), { name: "X25519" }, false, []);
  const shared = await crypto.subtle.deriveBits(
    { name: "X25519", public: ephemeralKey },
    await importX25519Private(privateKey),
    256,
  );
  const key = await sealKey(shared, ephemeralPublic, recipient);
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: buf(iv), additionalData: buf(recipient) },
      key,
      buf(ciphertext),
    );
    return decoder.decode(plain);
  } catch {
    throw new Error("encrypted_session: cannot be decrypted with this CAS's session encryption key");
  }
}
