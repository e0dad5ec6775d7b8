// The CAS's keys: generated on first start, loaded from cas.key-store afterwards.
//   CAS key (Ed25519)       — identity of this CAS; its key hash is the console's "CAS key hash"; signs reports.
//   software key (Ed25519)  — stands for the CAS software identity ("CAS software key hash").
//   audit key (Ed25519)     — signs the audit log chain.
//   session encryption key  — X25519; encrypted sessions are sealed to it.
//   TLS CA + server cert    — the client API's own chain (ECDSA P-256), pinned by clients after attestation.
import { randomBytes } from "node:crypto";
import { isIP } from "node:net";
import { type CertAndKey, selfSignedCa, serverCertificate } from "./certificates.ts";
import { hex, unhex } from "./codec.ts";
import { type SigningKey, signingKeyOfSeed } from "./keys-ed25519.ts";
import { keyHashOfEd25519 } from "./principals.ts";
import { encryptionKeyHex, newEncryptionPrivateKey } from "./sealed-box.ts";
import type { KeyStore } from "./store.ts";

export interface CasKeys {
  readonly store: KeyStore;
  readonly casKey: SigningKey;
  readonly casKeyHash: string;
  readonly softwareKey: SigningKey;
  readonly softwareKeyHash: string;
  readonly auditKey: SigningKey;
  readonly sessionEncryptionPrivate: Uint8Array;
  /** 64 hex: what `--print-public-keys` shows as CAS_SESSION_ENCRYPTION_KEY. */
  readonly sessionEncryptionKey: string;
}

const DEFAULT_SANS = ["localhost", "127.0.0.1", "::1", "cas-instance", "host.docker.internal"];

/** A client-API serving certificate from the CAS CA for the default names plus `sans` (DNS names or IPs). */
export async function issueServerCert(ca: CertAndKey, sans: readonly string[]): Promise<CertAndKey> {
  const names = [...new Set([...DEFAULT_SANS, ...sans.filter((n) => n !== "" && n !== "0.0.0.0" && n !== "::")])];
  return serverCertificate(ca, { dns: names.filter((n) => isIP(n) === 0), ips: names.filter((n) => isIP(n) !== 0) });
}

export async function generateKeyStore(sans: readonly string[]): Promise<KeyStore> {
  const ca = await selfSignedCa("SCONE CAS simulator CA");
  const server = await issueServerCert(ca, sans);
  return {
    format: "scone-cas-sim-key-store/1",
    db_key: randomBytes(32).toString("hex"),
    cas_key_seed: randomBytes(32).toString("hex"),
    software_key_seed: randomBytes(32).toString("hex"),
    audit_key_seed: randomBytes(32).toString("hex"),
    session_encryption_private_key: hex(newEncryptionPrivateKey()),
    tls: { ca_cert: ca.certPem, ca_key: ca.keyPem, server_cert: server.certPem, server_key: server.keyPem },
  };
}

export async function loadKeys(store: KeyStore): Promise<CasKeys> {
  const casKey = signingKeyOfSeed(unhex(store.cas_key_seed, "cas_key_seed"));
  const softwareKey = signingKeyOfSeed(unhex(store.software_key_seed, "software_key_seed"));
  const auditKey = signingKeyOfSeed(unhex(store.audit_key_seed, "audit_key_seed"));
  const sessionEncryptionPrivate = unhex(store.session_encryption_private_key, "session_encryption_private_key");
  return {
    store,
    casKey,
    casKeyHash: keyHashOfEd25519(casKey.publicKey),
    softwareKey,
    softwareKeyHash: keyHashOfEd25519(softwareKey.publicKey),
    auditKey,
    sessionEncryptionPrivate,
    sessionEncryptionKey: encryptionKeyHex(sessionEncryptionPrivate),
  };
}
