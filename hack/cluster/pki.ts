// A throwaway certificate authority per cluster: every component gets an ECDSA P-256 certificate from it, and the
// API server's service-account tokens are signed with a separate P-256 key. Pure generation here, file writing in
// writePki, so the shapes can be unit tested without touching disk.
import "reflect-metadata";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const SIGNING = { name: "ECDSA", hash: "SHA-256" };
const VALIDITY_MS = 365 * 24 * 3600 * 1000;

export interface KeyPairPem {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Certificates are named by the component that presents them. */
export type CertName = "apiserver" | "admin" | "controller-manager" | "scheduler" | "kwok" | "apiserver-kubelet-client";

export interface ClusterPki {
  readonly caCertPem: string;
  readonly caKeyPem: string;
  readonly certs: Readonly<Record<CertName, KeyPairPem>>;
  /** Service-account token signing key (private, PKCS#8) and its public half (SPKI). */
  readonly serviceAccountKeyPem: string;
  readonly serviceAccountPubPem: string;
}

export interface LeafSpec {
  readonly subject: string;
  readonly server?: { dns: readonly string[]; ips: readonly string[] };
  readonly client: boolean;
}

/** What each certificate says about its holder: the API server maps CN to the user, O to its groups. */
export function leafSpecs(
  firstServiceIp: string,
  extraApiserverIps: readonly string[] = [],
): Record<CertName, LeafSpec> {
  return {
    apiserver: {
      subject: "CN=kube-apiserver",
      server: {
        dns: [
          "localhost",
          "kubernetes",
          "kubernetes.default",
          "kubernetes.default.svc",
          "kubernetes.default.svc.cluster.local",
        ],
        ips: ["127.0.0.1", firstServiceIp, ...extraApiserverIps],
      },
      client: false,
    },
    admin: { subject: "CN=scone-admin, O=system:masters", client: true },
    "controller-manager": { subject: "CN=system:kube-controller-manager", client: true },
    scheduler: { subject: "CN=system:kube-scheduler", client: true },
    // kwok both calls the API server and serves the kubelet API (logs/exec) that the API server calls.
    kwok: {
      subject: "CN=kwok-controller, O=system:masters",
      server: { dns: ["localhost"], ips: ["127.0.0.1"] },
      client: true,
    },
    "apiserver-kubelet-client": { subject: "CN=kube-apiserver-kubelet-client, O=system:masters", client: true },
  };
}

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive INTEGER
  return Buffer.from(bytes).toString("hex");
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function issueLeaf(
  ca: x509.X509Certificate,
  caKey: CryptoKey,
  spec: LeafSpec,
  validity: { notBefore: Date; notAfter: Date },
): Promise<KeyPairPem> {
  const keys = await generateKeyPair();
  const usages: string[] = [];
  if (spec.server) usages.push(x509.ExtendedKeyUsage.serverAuth);
  if (spec.client) usages.push(x509.ExtendedKeyUsage.clientAuth);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(usages),
    await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey),
  ];
  if (spec.server) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        ...spec.server.dns.map((value) => ({ type: "dns" as const, value })),
        ...spec.server.ips.map((value) => ({ type: "ip" as const, value })),
      ]),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: spec.subject,
    issuer: ca.subject,
    ...validity,
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions,
  });
  return { certPem: cert.toString("pem"), keyPem: await privateKeyPem(keys.privateKey) };
}

function validityFrom(now: Date): { notBefore: Date; notAfter: Date } {
  // notBefore an hour back: tolerate small clock differences.
  return { notBefore: new Date(now.getTime() - 3600_000), notAfter: new Date(now.getTime() + VALIDITY_MS) };
}

export async function createClusterPki(
  firstServiceIp: string,
  now = new Date(),
  extraApiserverIps: readonly string[] = [],
): Promise<ClusterPki> {
  x509.cryptoProvider.set(crypto);
  const validity = validityFrom(now);
  const caKeys = await generateKeyPair();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: "CN=scone-local-cluster-ca",
    ...validity,
    signingAlgorithm: SIGNING,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const certs = {} as Record<CertName, KeyPairPem>;
  for (const [name, spec] of Object.entries(leafSpecs(firstServiceIp, extraApiserverIps)) as [CertName, LeafSpec][]) {
    certs[name] = await issueLeaf(ca, caKeys.privateKey, spec, validity);
  }

  const saKeys = await generateKeyPair();
  return {
    caCertPem: ca.toString("pem"),
    caKeyPem: await privateKeyPem(caKeys.privateKey),
    certs,
    serviceAccountKeyPem: await privateKeyPem(saKeys.privateKey),
    serviceAccountPubPem: x509.PemConverter.encode(
      await crypto.subtle.exportKey("spki", saKeys.publicKey),
      "PUBLIC KEY",
    ),
  };
}

/** A further certificate from an existing cluster CA (the real node's components join after the control plane). */
export async function issueCertificate(caCertPem: string, caKeyPem: string, spec: LeafSpec): Promise<KeyPairPem> {
  x509.cryptoProvider.set(crypto);
  const ca = new x509.X509Certificate(caCertPem);
  const caKey = await crypto.subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(caKeyPem), EC, false, ["sign"]);
  return issueLeaf(ca, caKey, spec, validityFrom(new Date()));
}

/** Where writePki put each file. */
export interface PkiPaths {
  readonly caCert: string;
  readonly caKey: string;
  readonly cert: (name: CertName) => string;
  readonly key: (name: CertName) => string;
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
}

export function pkiPaths(pkiDir: string): PkiPaths {
  return {
    caCert: join(pkiDir, "ca.crt"),
    caKey: join(pkiDir, "ca.key"),
    cert: (name) => join(pkiDir, `${name}.crt`),
    key: (name) => join(pkiDir, `${name}.key`),
    serviceAccountKey: join(pkiDir, "sa.key"),
    serviceAccountPub: join(pkiDir, "sa.pub"),
  };
}

async function writeSecret(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o600 });
  await chmod(path, 0o600); // mode is ignored when the file already exists
}

export async function writePki(pkiDir: string, pki: ClusterPki): Promise<PkiPaths> {
  await mkdir(pkiDir, { recursive: true, mode: 0o700 });
  const paths = pkiPaths(pkiDir);
  await writeFile(paths.caCert, pki.caCertPem);
  await writeSecret(paths.caKey, pki.caKeyPem);
  for (const [name, pair] of Object.entries(pki.certs) as [CertName, KeyPairPem][]) {
    await writeFile(paths.cert(name), pair.certPem);
    await writeSecret(paths.key(name), pair.keyPem);
  }
  await writeSecret(paths.serviceAccountKey, pki.serviceAccountKeyPem);
  await writeFile(paths.serviceAccountPub, pki.serviceAccountPubPem);
  return paths;
}
