// `session sign` and `session encrypt` (SCONE-CLI.md §6): Ed25519 over the exact session text, signer = the PEM
// public key `self show-session-signing-key` prints; sim/cas's sealed box to the CAS's session encryption key. Apart
// from sessions.ts so that uploading a session loads no signing or sealing code.
import { unhex } from "../cas/codec.ts";
import { type SigningKey, signHex, signingKeyOfSeed } from "../cas/keys-ed25519.ts";
import { sealBox } from "../cas/sealed-box.ts";
import { CliFailure } from "./failure.ts";
import { plainSession, type SessionFile } from "./sessions.ts";

export function signingKey(seed: Uint8Array): SigningKey {
  return signingKeyOfSeed(seed);
}

/** `session sign`: the signed JSON, this key's signature added (once). */
export function sign(file: SessionFile, key: SigningKey, signerPem: string): string {
  const session = plainSession(file, "sign");
  const signatures = file.kind === "signed" ? file.signatures.filter((s) => s.signer.trim() !== signerPem) : [];
  signatures.push({ signer: signerPem, signature: signHex(key, session) });
  return JSON.stringify({ session, signatures });
}

/** `session encrypt`: the (signed) session sealed to a CAS's session encryption key (64 hex). */
export function encrypt(signedJson: string, encryptionKeyHex: string): string {
  let recipient: Uint8Array;
  try {
    recipient = unhex(encryptionKeyHex, "key");
  } catch {
    throw new CliFailure("error: --key: expected the CAS session encryption key (64 hex)", 2);
  }
  if (recipient.length !== 32)
    throw new CliFailure("error: --key: expected the CAS session encryption key (64 hex)", 2);
  return JSON.stringify({ encrypted_session: sealBox(signedJson, recipient), encryption_key: encryptionKeyHex });
}
