// What the stand-in derives from the identity in its config: the key hash CAS names it by and the session signing
// key. Apart from state.ts so that commands that only read the config (session upload, read, list) load no crypto.
import { createPrivateKey, createPublicKey } from "node:crypto";
import { keyHashOfSpki, spkiOfCertificate } from "../cas/principals.ts";
import { type CliConfig, identityOf } from "./state.ts";

/** `self show-key-hash`: the hash of the identity's public key, as CAS names the caller. */
export function ownKeyHash(config: CliConfig): string {
  return keyHashOfSpki(spkiOfCertificate(identityOf(config).cert));
}

/** The session signing key pair (Ed25519) from its seed. */
export function signingKeyPem(config: CliConfig): string {
  const seed = Buffer.from(config.session_signing_keypair_ed25519_seed, "hex");
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
  return createPublicKey(createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }))
    .export({ type: "spki", format: "pem" })
    .toString()
    .trim();
}

export function signingSeed(config: CliConfig): Uint8Array {
  return new Uint8Array(Buffer.from(config.session_signing_keypair_ed25519_seed, "hex"));
}
