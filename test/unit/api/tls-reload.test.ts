// A renewed serving certificate is served without a restart: the files change, the next TLS handshake on the same
// port presents the new certificate; files that do not load keep the old one in service.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { serveReloadingTls } from "../../../src/api/tls-reload.ts";
import { createCa, createServingCert } from "../../../src/operator/certs/pki.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function servingPair() {
  const ca = await createCa("reload-test-ca", { now: new Date() });
  return createServingCert(ca, { dns: ["localhost"], ips: ["127.0.0.1"] }, { now: new Date() });
}

/** The SHA-256 fingerprint of the certificate the server presents now. */
function presented(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on("error", reject);
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await Bun.sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("serveReloadingTls", () => {
  test("new files are served on the same port; a broken pair keeps the previous one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "scone-tls-reload-"));
    dirs.push(dir);
    const files = { cert: join(dir, "tls.crt"), key: join(dir, "tls.key") };
    const first = await servingPair();
    const second = await servingPair();
    writeFileSync(files.cert, first.certPem);
    writeFileSync(files.key, first.keyPem);
    const reloads: unknown[] = [];
    const server = serveReloadingTls(
      files,
      (pems, port) =>
        Bun.serve({ port, hostname: "127.0.0.1", reusePort: true, tls: pems, fetch: () => new Response("ok") }),
      { port: 0, intervalMs: 50, onReload: (e) => reloads.push(e) },
    );
    try {
      const before = await presented(server.port);
      writeFileSync(files.key, second.keyPem);
      writeFileSync(files.cert, second.certPem);
      // A connection the kernel queued on the old listener as it closes is reset (SO_REUSEPORT): clients retry.
      const after = await until("the new certificate", async () => {
        const now = await presented(server.port).catch(() => before);
        return now !== before ? now : undefined;
      });
      expect(after).not.toBe(before);
      expect(reloads.at(-1)).toBeUndefined();

      writeFileSync(files.cert, "not a certificate");
      await until("the refused reload", async () => (reloads.some((e) => e !== undefined) ? true : undefined));
      expect(await presented(server.port)).toBe(after);
    } finally {
      await server.stop();
    }
  });
});
