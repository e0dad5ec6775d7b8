// A local OCI registry for tests (`crane registry serve` on 127.0.0.1, a random port, in memory) and the tools
// that fill it: crane (built by hack/node-binaries.sh) pushes small images built here from a tarball, cosign
// (hack/cosign-binaries.sh) signs them with keys the test generates. Nothing leaves loopback.

import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { parsePublicKey, type SignatureKey } from "../../src/images/signature/public-key.ts";

const CACHE =
  process.env.SCONE_KUBE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "scone", "kube");
export const CRANE: string =
  process.env.SCONE_CRANE ?? join(CACHE, `crane-v${process.env.SCONE_CRANE_VERSION ?? "0.22.1"}`, "crane");
export const craneAvailable = (): boolean => existsSync(CRANE);

function run(cmd: string, args: readonly string[], env: Record<string, string> = {}, timeout = 120_000) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout, env: { ...process.env, ...env } });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: `${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

/** cosign from the Go module proxy (built once, cached; the first build takes minutes). */
export function cosignBinary(): string {
  const r = run("bash", ["hack/cosign-binaries.sh"], {}, 3_600_000);
  if (r.code !== 0) throw new Error(`hack/cosign-binaries.sh failed:\n${r.stderr}`);
  return r.stdout.trim().split("\n").pop() ?? "";
}

export interface LocalRegistry {
  /** 127.0.0.1:PORT */
  readonly host: string;
  stop(): void;
}

/**
 * Starts `crane registry serve` on a random loopback port; resolves once its log says which port it serves on.
 * The log goes to a file, not a pipe: the tests run cosign and crane synchronously, and a pipe nobody drains
 * meanwhile would fill up and stall the registry mid-request.
 */
export async function startRegistry(timeoutMs = 30_000): Promise<LocalRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "scone-registry-"));
  const logFile = join(dir, "registry.log");
  const fd = openSync(logFile, "w");
  const child = spawn(CRANE, ["registry", "serve", "--address", "127.0.0.1:0"], { stdio: ["ignore", "ignore", fd] });
  closeSync(fd);
  let exited: number | null | undefined;
  child.on("exit", (code) => {
    exited = code;
  });
  const stop = () => {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const port = /serving on port (\d+)/.exec(readFileSync(logFile, "utf8"))?.[1];
    if (port) return { host: `127.0.0.1:${port}`, stop };
    if (exited !== undefined || Date.now() > deadline) {
      const log = readFileSync(logFile, "utf8");
      stop();
      throw new Error(`crane registry serve did not report its port (exit ${exited}): ${log}`);
    }
    await Bun.sleep(50);
  }
}

/** Pushes a one-layer image whose only file holds `content` (distinct content → distinct digest); returns the digest. */
export function pushImage(reference: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), "scone-img-"));
  writeFileSync(join(dir, "content.txt"), content);
  const tar = join(dir, "layer.tar");
  const t = run("tar", ["-C", dir, "-cf", tar, "content.txt"]);
  if (t.code !== 0) throw new Error(`tar failed: ${t.stderr}`);
  const r = run(CRANE, ["append", "-f", tar, "-t", reference]);
  if (r.code !== 0) throw new Error(`crane append ${reference} failed:\n${r.stderr}`);
  const digest = /@(sha256:[a-f0-9]{64})/.exec(r.stdout)?.[1];
  if (!digest) throw new Error(`crane append printed no digest: ${r.stdout}`);
  return digest;
}

export interface CosignKey {
  /** Path of cosign.key (encrypted with `password`). */
  readonly privateKey: string;
  /** Path of cosign.pub (PEM). */
  readonly publicKey: string;
  readonly password: string;
}

/** `cosign generate-key-pair` in a fresh 0700 directory. */
export function generateCosignKey(cosign: string, password = "test-password"): CosignKey {
  const dir = mkdtempSync(join(tmpdir(), "scone-cosign-"));
  const r = spawnSync(cosign, ["generate-key-pair"], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, COSIGN_PASSWORD: password },
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`cosign generate-key-pair failed:\n${r.stderr}`);
  return { privateKey: join(dir, "cosign.key"), publicKey: join(dir, "cosign.pub"), password };
}

/**
 * `cosign sign --key` offline: no transparency log, the signature stored the classic way (a manifest at tag
 * sha256-<hex>.sig, not a sigstore bundle as an OCI referrer), which is what scone reads.
 */
export function cosignSign(cosign: string, key: CosignKey, image: string): void {
  const r = run(
    cosign,
    [
      "sign",
      "--key",
      key.privateKey,
      "--tlog-upload=false",
      "--new-bundle-format=false",
      "--use-signing-config=false",
      "--allow-http-registry",
      "--yes",
      image,
    ],
    { COSIGN_PASSWORD: key.password, COSIGN_YES: "true" },
  );
  if (r.code !== 0) throw new Error(`cosign sign ${image} failed:\n${r.stderr}`);
}

interface LayoutDescriptor {
  mediaType: string;
  digest: string;
  annotations?: Record<string, string>;
}

/**
 * Uploads every tagged entry of an OCI layout (hack/image's) into `repository` on a loopback registry: blobs by
 * monolithic upload, child manifests by digest, each entry under its org.opencontainers.image.ref.name tag.
 */
export async function pushLayout(layoutDir: string, registryHost: string, repository: string): Promise<void> {
  const base = `http://${registryHost}/v2/${repository}`;
  const read = (digest: string) => readFileSync(join(layoutDir, "blobs", "sha256", digest.slice("sha256:".length)));
  const putBlob = async (digest: string) => {
    if ((await fetch(`${base}/blobs/${digest}`, { method: "HEAD" })).ok) return;
    const start = await fetch(`${base}/blobs/uploads/`, { method: "POST" });
    const location = new URL(start.headers.get("location") ?? "", base);
    location.searchParams.set("digest", digest);
    const put = await fetch(location, { method: "PUT", body: read(digest) });
    if (!put.ok) throw new Error(`blob ${digest}: ${put.status} ${await put.text()}`);
  };
  const putManifest = async (d: LayoutDescriptor, reference: string) => {
    const doc = JSON.parse(read(d.digest).toString()) as {
      manifests?: LayoutDescriptor[];
      config?: LayoutDescriptor;
      layers?: LayoutDescriptor[];
    };
    for (const child of doc.manifests ?? []) await putManifest(child, child.digest);
    for (const b of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) await putBlob(b.digest);
    const res = await fetch(`${base}/manifests/${reference}`, {
      method: "PUT",
      headers: { "content-type": d.mediaType },
      body: read(d.digest),
    });
    if (!res.ok) throw new Error(`manifest ${reference}: ${res.status} ${await res.text()}`);
  };
  const index = JSON.parse(readFileSync(join(layoutDir, "index.json"), "utf8")) as { manifests: LayoutDescriptor[] };
  for (const entry of index.manifests) {
    const tag = entry.annotations?.["org.opencontainers.image.ref.name"];
    if (tag) await putManifest(entry, tag);
  }
}

/** A cosign key pair and its public key parsed as scone reads it. */
export interface SigningKey {
  readonly pair: CosignKey;
  readonly key: SignatureKey;
}

/** A signing set-up: cosign, loopback registries and cosign key pairs. */
export interface SigningFixture {
  readonly cosign: string;
  readonly registries: readonly LocalRegistry[];
  readonly keys: readonly SigningKey[];
  /** Stops the registries. */
  stop(): void;
}

/**
 * cosign (built once, cached), `registries` registries started side by side and `keys` key pairs: what the image
 * signature and air-gap tests start with. A registry that fails to start stops the ones that did.
 */
export async function startSigningFixture(o: { registries: number; keys: number }): Promise<SigningFixture> {
  const cosign = cosignBinary();
  const started = await Promise.allSettled(Array.from({ length: o.registries }, () => startRegistry()));
  const registries = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const stop = () => {
    for (const r of registries) r.stop();
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) {
    stop();
    throw failed.reason;
  }
  const keys = Array.from({ length: o.keys }, (): SigningKey => {
    const pair = generateCosignKey(cosign);
    return { pair, key: parsePublicKey(readFileSync(pair.publicKey, "utf8"), pair.publicKey) };
  });
  return { cosign, registries, keys, stop };
}
