// X.509 for the simulated CAS (README row "Client API": its own CA → server certificate, ECDSA P-256), issued with
// @peculiar/x509 over WebCrypto: the CAS's TLS CA, the client API's server certificate, and the self-signed
// certificates of `x509` / `x509-ca` session secrets.
import type * as X509 from "@peculiar/x509";

let loaded: Promise<typeof X509> | undefined;

// @peculiar/x509 reads Reflect metadata as it loads, so the polyfill must be in place first; loading both here,
// in order, keeps that true whatever order a bundler would give static imports.
function x509Library(): Promise<typeof X509> {
  loaded ??= (async () => {
    await import("reflect-metadata");
    const lib = await import("@peculiar/x509");
    lib.cryptoProvider.set(crypto);
    return lib;
  })();
  return loaded;
}

const EC_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const ECDSA_SHA256 = { name: "ECDSA", hash: "SHA-256" } as const;
const HOUR_MS = 3600 * 1000;
const TEN_YEARS_MS = 3650 * 24 * HOUR_MS;

export interface CertAndKey {
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
}

/** A positive 128-bit serial number, hex. */
function serial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString("hex");
}

async function p256(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(EC_P256, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function pemOfKey(lib: typeof X509, key: CryptoKey): Promise<string> {
  return lib.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

/** Validity: from an hour ago (a peer whose clock is a little behind still accepts it) for ten years. */
const validity = () => ({
  notBefore: new Date(Date.now() - HOUR_MS),
  notAfter: new Date(Date.now() + TEN_YEARS_MS),
});

/** A fresh P-256 key and a self-signed certificate for it with the extensions `extend` names. */
async function selfSigned(
  commonName: string,
  extend: (lib: typeof X509, keys: CryptoKeyPair) => Promise<X509.Extension[]>,
): Promise<CertAndKey> {
  const lib = await x509Library();
  const keys = await p256();
  const cert = await lib.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    ...validity(),
    signingAlgorithm: ECDSA_SHA256,
    keys,
    extensions: await extend(lib, keys),
  });
  return { certPem: cert.toString("pem"), keyPem: await pemOfKey(lib, keys.privateKey) };
}

/** A self-signed CA certificate that may only sign certificates (path length 0). */
export function selfSignedCa(commonName: string): Promise<CertAndKey> {
  return selfSigned(commonName, async (lib, keys) => [
    new lib.BasicConstraintsExtension(true, 0, true),
    new lib.KeyUsagesExtension(lib.KeyUsageFlags.keyCertSign | lib.KeyUsageFlags.cRLSign, true),
    await lib.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ]);
}

/** A self-signed client certificate with a fresh key: a CLI identity (SCONE-CLI §7: PKCS#8 key + certificate). */
export function selfSignedClientIdentity(commonName: string): Promise<CertAndKey> {
  return selfSigned(commonName, async (lib) => [
    new lib.BasicConstraintsExtension(false, undefined, true),
    new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature, true),
    new lib.ExtendedKeyUsageExtension([lib.ExtendedKeyUsage.clientAuth]),
  ]);
}

/** A TLS server certificate signed by `ca` for these DNS names and IP addresses (CN = the first of them). */
export async function serverCertificate(
  ca: CertAndKey,
  names: { readonly dns: readonly string[]; readonly ips: readonly string[] },
): Promise<CertAndKey> {
  const lib = await x509Library();
  const caCert = new lib.X509Certificate(ca.certPem);
  const caKey = await crypto.subtle.importKey("pkcs8", lib.PemConverter.decodeFirst(ca.keyPem), EC_P256, false, [
    "sign",
  ]);
  const keys = await p256();
  const cert = await lib.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${names.dns[0] ?? names.ips[0] ?? "cas"}`,
    issuer: caCert.subject,
    ...validity(),
    signingAlgorithm: ECDSA_SHA256,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new lib.BasicConstraintsExtension(false, undefined, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature, true),
      new lib.ExtendedKeyUsageExtension([lib.ExtendedKeyUsage.serverAuth]),
      await lib.AuthorityKeyIdentifierExtension.create(caCert),
      new lib.SubjectAlternativeNameExtension([
        ...names.dns.map((value) => ({ type: "dns" as const, value })),
        ...names.ips.map((value) => ({ type: "ip" as const, value })),
      ]),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await pemOfKey(lib, keys.privateKey) };
}
