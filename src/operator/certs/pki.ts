// Issuing the webhook server's certificates: a self-signed CA and a serving certificate it signs, both ECDSA P-256
// through WebCrypto. This replaces upstream's cert-manager Issuer/Certificate pair, so no cert-manager is needed.
import type * as X509 from "@peculiar/x509";
import { loadX509 } from "../../x509.ts";

// Top-level await: this module is only ever imported lazily (webhooks), after which every function stays synchronous.
const x509 = await loadX509();

const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY_MS = 24 * 3600 * 1000;

/** CA lifetime: long, because replacing it means every client must learn the new one (caBundle). */
export const CA_VALIDITY_MS = 3650 * DAY_MS;
/** Serving certificate lifetime: short, renewed from the same CA without touching caBundle. */
export const SERVING_VALIDITY_MS = 90 * DAY_MS;
/** Certificates start this much in the past, so a node whose clock is a little behind accepts them. */
const BACKDATE_MS = 3600 * 1000;

/** A certificate and its private key, PEM-encoded (PKCS#8 for the key). */
export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Subject alternative names of the serving certificate. */
export interface SubjectAltNames {
  readonly dns: readonly string[];
  readonly ips: readonly string[];
}

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // a positive INTEGER
  return Buffer.from(bytes).toString("hex");
}

async function newKeyPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function keyPemOf(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

async function importSigningKey(keyPem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(keyPem);
  return crypto.subtle.importKey("pkcs8", der, KEY_ALGORITHM, false, ["sign"]);
}

export interface IssueOptions {
  readonly now: Date;
  /** Lifetime in ms; defaults to CA_VALIDITY_MS / SERVING_VALIDITY_MS. */
  readonly validityMs?: number;
}

/** A new self-signed CA (only good for signing certificates: pathLen 0). */
export async function createCa(commonName: string, opts: IssueOptions): Promise<PemPair> {
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${commonName}`,
    notBefore: new Date(opts.now.getTime() - BACKDATE_MS),
    notAfter: new Date(opts.now.getTime() + (opts.validityMs ?? CA_VALIDITY_MS)),
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await keyPemOf(keys.privateKey) };
}

/** A serving certificate for `sans`, signed by `ca`; its common name is the first DNS name. */
export async function createServingCert(ca: PemPair, sans: SubjectAltNames, opts: IssueOptions): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importSigningKey(ca.keyPem);
  const keys = await newKeyPair();
  const names = [
    ...sans.dns.map((value) => ({ type: "dns" as const, value })),
    ...sans.ips.map((value) => ({ type: "ip" as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${sans.dns[0] ?? sans.ips[0] ?? "scone-webhook"}`,
    issuer: caCert.subject,
    notBefore: new Date(opts.now.getTime() - BACKDATE_MS),
    notAfter: new Date(opts.now.getTime() + (opts.validityMs ?? SERVING_VALIDITY_MS)),
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      new x509.SubjectAlternativeNameExtension(names),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await keyPemOf(keys.privateKey) };
}

/** What renewal decisions need to know about a certificate (no key material). */
export interface CertInfo {
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly sans: SubjectAltNames;
  readonly isCa: boolean;
  readonly subject: string;
  readonly issuer: string;
}

/** Parses the first certificate of a PEM text; undefined when it is not a readable certificate. */
export function readCertInfo(pem: string): CertInfo | undefined {
  let cert: X509.X509Certificate;
  try {
    cert = new x509.X509Certificate(pem);
  } catch {
    return undefined;
  }
  const dns: string[] = [];
  const ips: string[] = [];
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  for (const name of san?.names.items ?? []) {
    if (name.type === "dns") dns.push(name.value);
    if (name.type === "ip") ips.push(name.value);
  }
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  return {
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    sans: { dns, ips },
    isCa: basic?.ca === true,
    subject: cert.subject,
    issuer: cert.issuer,
  };
}

/** Whether `leafPem` carries a valid signature of `caPem`'s key (and names it as issuer). */
export async function isSignedBy(leafPem: string, caPem: string): Promise<boolean> {
  try {
    const leaf = new x509.X509Certificate(leafPem);
    const ca = new x509.X509Certificate(caPem);
    if (leaf.issuer !== ca.subject) return false;
    return await leaf.verify({ publicKey: ca.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

/** Whether `keyPem` is the private key of `certPem` (sign with one, verify with the other). */
export async function keyMatchesCert(keyPem: string, certPem: string): Promise<boolean> {
  try {
    const key = await importSigningKey(keyPem);
    const cert = new x509.X509Certificate(certPem);
    const publicKey = await cert.publicKey.export(KEY_ALGORITHM, ["verify"]);
    const probe = crypto.getRandomValues(new Uint8Array(32));
    const signature = await crypto.subtle.sign(SIGNING_ALGORITHM, key, probe);
    return await crypto.subtle.verify(SIGNING_ALGORITHM, publicKey, signature, probe);
  } catch {
    return false;
  }
}

/** The certificates of a PEM bundle, each as its own PEM block. */
export function splitPemBundle(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
