// The CAS's keys: generated on first start, loaded from cas.key-store afterwards.
//   CAS key (Ed25519)       — identity of this CAS; its key hash is the console's "CAS key hash"; signs reports.
//   software key (Ed25519)  — stands for the CAS software identity ("CAS software key hash").
//   audit key (Ed25519)     — signs the audit log chain.
//   session encryption key  — X25519; encrypted sessions are sealed to it.
//   TLS CA + server cert    — the client API's own chain (ECDSA P-256), pinned by clients after attestation.
import { randomBytes } from "node:crypto";
import { isIP } from "node:net";
import { casKeyHashOf } from "../../src/cas/attestation.ts";
import {
  type Ed25519KeyPair,
  ed25519FromSeed,
  fromHex,
  newX25519KeyPair,
  toHex,
  x25519PublicOf,
} from "../../src/cas/crypto.ts";
import { createCa, createServingCert } from "../../src/operator/certs/pki.ts";
import type { KeyStore } from "./store.ts";

export interface CasKeys {
  readonly store: KeyStore;
  readonly casKey: Ed25519KeyPair;
  readonly casKeyHash: string;
  readonly softwareKey: Ed25519KeyPair;
  readonly softwareKeyHash: string;
  readonly auditKey: Ed25519KeyPair;
  readonly sessionEncryptionPrivate: Uint8Array;
  /** 64 hex: what `--print-public-keys` shows as CAS_SESSION_ENCRYPTION_KEY. */
  readonly sessionEncryptionKey: string;
}

const DEFAULT_SANS = ["localhost", "127.0.0.1", "::1", "cas-instance", "host.docker.internal"];

/** A client-API serving certificate from the CAS CA for the default names plus `sans` (DNS names or IPs). */
export async function issueServerCert(
  ca: { readonly certPem: string; readonly keyPem: string },
  sans: readonly string[],
): Promise<{ certPem: string; keyPem: string }> {
  const names = [...new Set([...DEFAULT_SANS, ...sans.filter((n) => n !== "" && n !== "0.0.0.0" && n !== "::")])];
  return createServingCert(
    ca,
    { dns: names.filter((n) => isIP(n) === 0), ips: names.filter((n) => isIP(n) !== 0) },
    { now: new Date(), validityMs: 3650 * 24 * 3600 * 1000 },
  );
}

export async function generateKeyStore(sans: readonly string[]): Promise<KeyStore> {
  const ca = await createCa("SCONE CAS simulator CA", { now: new Date() });
  const server = await issueServerCert(ca, sans);
  const encryption = await newX25519KeyPair();
  return {
    format: "scone-cas-sim-key-store/1",
    db_key: randomBytes(32).toString("hex"),
    cas_key_seed: randomBytes(32).toString("hex"),
    software_key_seed: randomBytes(32).toString("hex"),
    audit_key_seed: randomBytes(32).toString("hex"),
    session_encryption_private_key: toHex(encryption.privateKey),
    tls: { ca_cert: ca.certPem, ca_key: ca.keyPem, server_cert: server.certPem, server_key: server.keyPem },
  };
}

export async function loadKeys(store: KeyStore): Promise<CasKeys> {
  const casKey = await ed25519FromSeed(fromHex(store.cas_key_seed, "cas_key_seed"));
  const softwareKey = await ed25519FromSeed(fromHex(store.software_key_seed, "software_key_seed"));
  const auditKey = await ed25519FromSeed(fromHex(store.audit_key_seed, "audit_key_seed"));
  const sessionEncryptionPrivate = fromHex(store.session_encryption_private_key, "session_encryption_private_key");
  return {
    store,
    casKey,
    casKeyHash: casKeyHashOf(casKey.publicKey),
    softwareKey,
    softwareKeyHash: casKeyHashOf(softwareKey.publicKey),
    auditKey,
    sessionEncryptionPrivate,
    sessionEncryptionKey: toHex(await x25519PublicOf(sessionEncryptionPrivate)),
  };
}
