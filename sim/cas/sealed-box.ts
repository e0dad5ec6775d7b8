// The simulated CAS's session encryption key (X25519) and opening the sealed box of an encrypted session
// (README "Sealed box"): base64 of 0x01 ‖ ephemeral X25519 public key (32) ‖ IV (12) ‖ AES-256-GCM ciphertext ‖
// tag (16); key = HKDF-SHA256(X25519(ephemeral, CAS), salt = ephemeral ‖ CAS public key,
// info = "scone-cas encrypted session v1"); additional data = the CAS public key.
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
} from "node:crypto";
import { hex, unbase64 } from "./codec.ts";

// DER headers around a raw X25519 key (OID 1.3.101.110, RFC 8410).
const PKCS8_HEADER = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_HEADER = Buffer.from("302a300506032b656e032100", "hex");
const VERSION = 0x01;
const INFO = "scone-cas encrypted session v1";
const TAG_BYTES = 16;

const privateKeyOf = (raw: Uint8Array) => {
  if (raw.length !== 32) throw new Error(`X25519 private key: expected 32 bytes, got ${raw.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_HEADER, raw]), format: "der", type: "pkcs8" });
};

/** A fresh raw 32-byte X25519 private key (kept in cas.key-store). */
export function newEncryptionPrivateKey(): Uint8Array {
  const der = generateKeyPairSync("x25519").privateKey.export({ type: "pkcs8", format: "der" });
  return new Uint8Array(der.subarray(PKCS8_HEADER.length));
}

/** The raw public key of a raw private key; as 64 hex this is the console's "CAS session encryption key". */
export function encryptionPublicKeyOf(privateKey: Uint8Array): Uint8Array {
  const der = createPublicKey(privateKeyOf(privateKey)).export({ type: "spki", format: "der" });
  return new Uint8Array(der.subarray(SPKI_HEADER.length));
}

/** The plaintext of a sealed box made for `privateKey`'s public key; a plain-worded Error otherwise. */
export function openSealedBox(sealedBase64: string, privateKey: Uint8Array): string {
  const box = unbase64(sealedBase64, "encrypted_session");
  if (box[0] !== VERSION || box.length < 1 + 32 + 12 + TAG_BYTES) {
    throw new Error("encrypted_session: not a sealed session (unknown version or too short)");
  }
  const ephemeral = box.subarray(1, 33);
  const recipient = encryptionPublicKeyOf(privateKey);
  try {
    const shared = diffieHellman({
      privateKey: privateKeyOf(privateKey),
      publicKey: createPublicKey({ key: Buffer.concat([SPKI_HEADER, ephemeral]), format: "der", type: "spki" }),
    });
    const key = Buffer.from(hkdfSync("sha256", shared, Buffer.from([...ephemeral, ...recipient]), INFO, 32));
    const decipher = createDecipheriv("aes-256-gcm", key, box.subarray(33, 45));
    decipher.setAAD(recipient);
    decipher.setAuthTag(box.subarray(box.length - TAG_BYTES));
    const plain = Buffer.concat([decipher.update(box.subarray(45, box.length - TAG_BYTES)), decipher.final()]);
    return plain.toString("utf8");
  } catch {
    // A wrong key, a forged tag and an ephemeral key that is no X25519 point all read the same to the sender.
    throw new Error("encrypted_session: cannot be decrypted with this CAS's session encryption key");
  }
}

export const encryptionKeyHex = (privateKey: Uint8Array): string => hex(encryptionPublicKeyOf(privateKey));

/** Seals `plaintext` to a raw X25519 public key (what the stand-in CLI's `session encrypt` does; openSealedBox's inverse). */
export function sealBox(plaintext: string, recipient: Uint8Array): string {
  if (recipient.length !== 32) throw new Error(`X25519 public key: expected 32 bytes, got ${recipient.length}`);
  const ephemeral = generateKeyPairSync("x25519");
  const ephemeralPublic = ephemeral.publicKey.export({ type: "spki", format: "der" }).subarray(SPKI_HEADER.length);
  const shared = diffieHellman({
    privateKey: ephemeral.privateKey,
    publicKey: createPublicKey({ key: Buffer.concat([SPKI_HEADER, recipient]), format: "der", type: "spki" }),
  });
  const key = Buffer.from(hkdfSync("sha256", shared, Buffer.from([...ephemeralPublic, ...recipient]), INFO, 32));
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(recipient);
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), ephemeralPublic, iv, body, cipher.getAuthTag()]).toString("base64");
}
