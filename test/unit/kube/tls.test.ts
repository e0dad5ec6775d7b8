// Proves the Bun transport really does mTLS: the server demands a client certificate from our CA, and the client
// verifies the server against the kubeconfig CA (and refuses a server from another CA).
import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import { KubeClient } from "../../../src/kube/client.ts";
import type { ClusterConnection } from "../../../src/kube/config.ts";
import { KubeConnectionError } from "../../../src/kube/errors.ts";
import { probeCluster } from "../../../src/kube/probe.ts";

x509.cryptoProvider.set(crypto);
const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

interface Issued {
  certPem: string;
  keyPem: string;
  keys: CryptoKeyPair;
  cert: x509.X509Certificate;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

async function makeCa(name: string): Promise<Issued> {
  const keys = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3600_000),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  return { cert, keys, certPem: cert.toString("pem"), keyPem: await keyPem(keys.privateKey) };
}

/** Serial numbers of issued certificates: distinct per CA (not derived from the clock, where two could collide). */
let nextSerial = 2;

async function issue(ca: Issued, subject: string, usage: "server" | "client", dns: string[] = []): Promise<Issued> {
  const keys = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([
      usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
    ]),
  ];
  if (dns.length > 0)
    extensions.push(new x509.SubjectAlternativeNameExtension(dns.map((value) => ({ type: "dns" as const, value }))));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (nextSerial++).toString(16).padStart(2, "0"),
    subject: `CN=${subject}`,
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3600_000),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions,
  });
  return { cert, keys, certPem: cert.toString("pem"), keyPem: await keyPem(keys.privateKey) };
}

let ca: Issued;
let otherCa: Issued;
let client: Issued;
let server: ReturnType<typeof Bun.serve>;
let seenAuth: string | null = null;
const dir = mkdtempSync(join(tmpdir(), "scone-tls-"));

beforeAll(async () => {
  ca = await makeCa("test-ca");
  otherCa = await makeCa("other-ca");
  // The serving cert names only "kubernetes", not 127.0.0.1: reaching it needs tls-server-name.
  const serving = await issue(ca, "kube-apiserver", "server", ["kubernetes"]);
  client = await issue(ca, "scone-admin", "client");
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    tls: { cert: serving.certPem, key: serving.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
    fetch(req) {
      seenAuth = req.headers.get("authorization");
      return Response.json({ gitVersion: "v1.99.0-test" });
    },
  });
});
afterAll(() => {
  server?.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

function conn(over: Partial<ClusterConnection>): ClusterConnection {
  return {
    server: `https://127.0.0.1:${server.port}`,
    caPem: ca.certPem,
    tlsServerName: "kubernetes",
    clientCertPem: client.certPem,
    clientKeyPem: client.keyPem,
    insecureSkipTlsVerify: false,
    namespace: "default",
    source: "test",
    ...over,
  };
}

describe("TLS transport", () => {
  test("presents the client certificate and verifies the server against the CA", async () => {
    expect(await probeCluster(conn({}))).toEqual({ serverVersion: "v1.99.0-test", server: conn({}).server });
  });

  test("without a client certificate the server refuses the handshake", async () => {
    const err = await probeCluster(conn({ clientCertPem: undefined, clientKeyPem: undefined })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KubeConnectionError);
    expect(String(err)).toContain("handshake");
  });

  test("a server certificate from another CA is refused", async () => {
    await expect(probeCluster(conn({ caPem: otherCa.certPem }))).rejects.toThrow(/no response.*certificate/);
  });

  test("the server name is checked: without tls-server-name the 127.0.0.1 address does not match", async () => {
    await expect(probeCluster(conn({ tlsServerName: undefined }))).rejects.toThrow(/ALTNAME/);
  });

  test("insecure-skip-tls-verify accepts the unknown server (the client certificate is still sent)", async () => {
    expect((await probeCluster(conn({ caPem: otherCa.certPem, insecureSkipTlsVerify: true }))).serverVersion).toBe(
      "v1.99.0-test",
    );
  });

  test("a kubeconfig with file paths and a token works end to end, and errors never show the token or key", async () => {
    writeFileSync(join(dir, "ca.crt"), ca.certPem);
    writeFileSync(join(dir, "client.crt"), client.certPem);
    writeFileSync(join(dir, "client.key"), client.keyPem, { mode: 0o600 });
    const kubeconfig = join(dir, "config");
    writeFileSync(
      kubeconfig,
      `current-context: t
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:${server.port}", certificate-authority: ca.crt, tls-server-name: kubernetes } }]
users: [{ name: u, user: { client-certificate: client.crt, client-key: client.key, token: sekret-token-123 } }]
contexts: [{ name: t, context: { cluster: c, user: u } }]
`,
    );
    const kube = await KubeClient.load({ kubeconfig });
    expect((await kube.serverVersion()).gitVersion).toBe("v1.99.0-test");
    expect(seenAuth).toBe("Bearer sekret-token-123");

    const wrong = await KubeClient.load({ kubeconfig });
    wrong.transport.connection.caPem = otherCa.certPem;
    const err = await wrong.serverVersion().catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(KubeConnectionError);
    expect(String(err)).not.toContain("sekret-token-123");
    expect(String(err)).not.toContain("PRIVATE KEY");
  });
});
