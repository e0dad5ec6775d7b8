// `make image COSIGN_KEY=cosign.key`: a cosign signature of the image, stored in the OCI layout the way cosign stores
// it in a registry — a manifest tagged sha256-<hex>.sig whose one layer is the simple-signing payload (naming the
// image's repository and index digest) with the signature in its `dev.cosignproject.cosign/signature` annotation.
// Copying the layout's tags into a registry carries the signature; scone's verifier (src/images/signature) and
// `cosign verify --key` then accept the image. cosign signs (sign-blob over the payload: the same bytes and the
// same signature algorithm as `cosign sign`), so the private key never passes through this code.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { COSIGN_SIGNATURE_TYPE } from "../../src/images/signature/payload.ts";
import { parseImageRef, repositoryName, signatureTag } from "../../src/images/signature/reference.ts";
import { SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE } from "../../src/images/signature/signature-manifest.ts";
import { type Layout, MEDIA_TYPE, sha256 } from "./oci.ts";

const ROOT = resolve(import.meta.dir, "../..");
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** The payload cosign signs for an image: its repository (no tag) and manifest digest. */
export function simpleSigningPayload(reference: string, digest: string): Uint8Array<ArrayBuffer> {
  return enc({
    critical: {
      identity: { "docker-reference": repositoryName(parseImageRef(reference)) },
      image: { "docker-manifest-digest": digest },
      type: COSIGN_SIGNATURE_TYPE,
    },
    optional: null,
  });
}

/** The layout with the signature manifest added under the tag sha256-<hex>.sig (pure). */
export function attachSignature(layout: Layout, payload: Uint8Array, signatureBase64: string): Layout {
  const payloadDigest = sha256(payload);
  const config = enc({ architecture: "", os: "", config: {}, rootfs: { type: "layers", diff_ids: [payloadDigest] } });
  const manifest = enc({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.manifest,
    config: { mediaType: MEDIA_TYPE.config, size: config.length, digest: sha256(config) },
    layers: [
      {
        mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
        size: payload.length,
        digest: payloadDigest,
        annotations: { [SIGNATURE_ANNOTATION]: signatureBase64 },
      },
    ],
  });
  const files = new Map(layout.files);
  for (const bytes of [payload, config, manifest]) files.set(`blobs/sha256/${sha256(bytes).slice(7)}`, bytes);
  const index = JSON.parse(new TextDecoder().decode(layout.files.get("index.json"))) as { manifests: unknown[] };
  index.manifests.push({
    mediaType: MEDIA_TYPE.manifest,
    digest: sha256(manifest),
    size: manifest.length,
    annotations: { "org.opencontainers.image.ref.name": signatureTag(layout.digest) },
  });
  files.set("index.json", enc(index));
  return { files, digest: layout.digest };
}

/**
 * Signs the payload with cosign (hack/cosign-binaries.sh) and the key file; the key's password is `password` when
 * given (tests), else COSIGN_PASSWORD from the environment.
 */
export function cosignSignPayload(keyPath: string, payload: Uint8Array, password?: string): string {
  const built = Bun.spawnSync(["bash", join(ROOT, "hack/cosign-binaries.sh")], { stdout: "pipe", stderr: "inherit" });
  if (built.exitCode !== 0) throw new Error("hack/cosign-binaries.sh failed; see above");
  const cosign = built.stdout.toString().trim().split("\n").pop() ?? "";
  const dir = mkdtempSync(join(tmpdir(), "scone-sign-"));
  try {
    writeFileSync(join(dir, "payload.json"), payload);
    const p = Bun.spawnSync(
      [
        cosign,
        "sign-blob",
        "--key",
        resolve(keyPath),
        "--tlog-upload=false",
        "--new-bundle-format=false",
        "--use-signing-config=false",
        "--yes",
        "--output-signature",
        join(dir, "sig"),
        join(dir, "payload.json"),
      ],
      {
        stdout: "pipe",
        stderr: "pipe",
        ...(password !== undefined ? { env: { ...process.env, COSIGN_PASSWORD: password } } : {}),
      },
    );
    if (p.exitCode !== 0) throw new Error(`cosign sign-blob failed: ${p.stderr.toString().trim()}`);
    return readFileSync(join(dir, "sig"), "utf8").trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
