// `scone images save`: every image (and its cosign signature manifest, when the registry has one) fetched into a
// staging OCI layout next to the archive (FILE.partial/, 0700), then written as one tar. Resumable: a blob file
// exists only once its digest was checked (RegistryWriter.blobToFile), so a second run keeps what the first
// fetched and asks the registry only for the rest. The staging directory goes once the archive is complete.

import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseImageRef, signatureTag } from "../signature/reference.ts";
import {
  blobPath,
  COMPONENT,
  type Descriptor,
  IMAGE_NAME,
  INDEX_MEDIA_TYPE,
  isIndex,
  PLATFORMS,
  parseManifest,
  platformFilter,
  REF_NAME,
  SIGNATURE_OF,
} from "./layout.ts";
import type { RegistryWriter } from "./registry-writer.ts";
import { writeTar } from "./tar.ts";

export interface SaveInput {
  readonly images: readonly { readonly image: string; readonly component: string }[];
  readonly to: string;
  /** os/arch list; undefined: every platform an index names. */
  readonly platforms?: string;
  readonly client: (registry: string) => RegistryWriter;
  readonly progress?: (line: string) => void;
}

export interface SaveSummary {
  readonly archive: string;
  readonly images: number;
  readonly signatures: number;
  /** Images without a signature manifest in the source registry (carried unsigned). */
  readonly unsigned: readonly string[];
  readonly fetched: number;
  /** Blobs kept from an interrupted run. */
  readonly kept: number;
  readonly bytes: number;
  readonly failed: readonly string[];
}

export async function saveImages(input: SaveInput): Promise<SaveSummary> {
  const stage = `${input.to}.partial`;
  mkdirSync(join(stage, "blobs", "sha256"), { recursive: true, mode: 0o700 });
  const carried = platformFilter(input.platforms);
  const top: Descriptor[] = [];
  const unsigned: string[] = [];
  const failed: string[] = [];
  let fetched = 0;
  let kept = 0;
  let bytes = 0;

  const writeBlob = (digest: string, data: Uint8Array) => {
    const path = join(stage, blobPath(digest));
    if (!existsSync(path)) {
      writeFileSync(`${path}.part`, data, { mode: 0o600 });
      renameSync(`${path}.part`, path);
    }
  };
  const fetchBlob = async (client: RegistryWriter, repo: string, d: Descriptor) => {
    const path = join(stage, blobPath(d.digest));
    if (existsSync(path) && statSync(path).size === d.size) {
      kept++;
      return;
    }
    bytes += await client.blobToFile(repo, d.digest, path);
    fetched++;
  };
  /** The manifest at `reference` and everything it needs; undefined when the registry has none. */
  const fetchTree = async (client: RegistryWriter, repo: string, reference: string, where: string) => {
    const m = await client.manifest(repo, reference);
    if (!m) return undefined;
    writeBlob(m.digest, m.bytes);
    const content = parseManifest(m.bytes, where);
    const blobs = [...content.blobs];
    if (isIndex(content)) {
      const children = content.manifests.filter(carried);
      if (children.length === 0)
        throw new Error(`${where}: none of its platforms is one of --platform ${input.platforms}`);
      for (const c of children) {
        const child = await client.manifest(repo, c.digest);
        if (!child)
          throw new Error(
            `${where}: the registry has no manifest ${c.digest} for ${c.platform?.os}/${c.platform?.architecture}`,
          );
        writeBlob(child.digest, child.bytes);
        blobs.push(...parseManifest(child.bytes, where).blobs);
      }
    }
    for (const b of blobs) await fetchBlob(client, repo, b);
    return {
      digest: m.digest,
      size: m.bytes.byteLength,
      mediaType: content.mediaType || m.mediaType,
      index: isIndex(content),
    };
  };

  for (const [n, { image, component }] of input.images.entries()) {
    input.progress?.(`[${n + 1}/${input.images.length}] ${image}`);
    try {
      const ref = parseImageRef(image);
      const client = input.client(ref.registry);
      const got = await fetchTree(client, ref.repository, ref.digest ?? ref.tag ?? "latest", image);
      if (!got) throw new Error(`${image}: the registry has no such image`);
      top.push({
        mediaType: got.mediaType,
        digest: got.digest,
        size: got.size,
        annotations: {
          [IMAGE_NAME]: image,
          [REF_NAME]: ref.tag ?? got.digest,
          [COMPONENT]: component,
          ...(got.index && input.platforms ? { [PLATFORMS]: input.platforms } : {}),
        },
      });
      const sigTag = signatureTag(got.digest);
      const sig = await fetchTree(client, ref.repository, sigTag, `${image} (signature)`);
      if (!sig) unsigned.push(image);
      else
        top.push({
          mediaType: sig.mediaType,
          digest: sig.digest,
          size: sig.size,
          annotations: {
            [IMAGE_NAME]: `${ref.registry}/${ref.repository}:${sigTag}`,
            [REF_NAME]: sigTag,
            [SIGNATURE_OF]: image,
          },
        });
    } catch (e) {
      failed.push(e instanceof Error ? e.message : String(e));
    }
  }
  const summary = {
    archive: input.to,
    images: input.images.length - failed.length,
    signatures: top.filter((d) => d.annotations?.[SIGNATURE_OF]).length,
    unsigned,
    fetched,
    kept,
    bytes,
    failed,
  };
  if (failed.length > 0) return summary; // the staging directory stays for the next run
  writeFileSync(join(stage, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }), { mode: 0o600 });
  writeFileSync(
    join(stage, "index.json"),
    JSON.stringify({ schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests: top }),
    { mode: 0o600 },
  );
  // Every verified blob of the staging layout (a .part file is an interrupted download, not a blob).
  const all = readdirSync(join(stage, "blobs", "sha256"))
    .filter((f) => /^[a-f0-9]{64}$/.test(f))
    .map((f) => `sha256:${f}`);
  writeTar(`${input.to}.tmp`, [
    { name: "oci-layout", path: join(stage, "oci-layout") },
    { name: "index.json", path: join(stage, "index.json") },
    ...all.sort().map((d) => ({ name: blobPath(d), path: join(stage, blobPath(d)) })),
  ]);
  renameSync(`${input.to}.tmp`, input.to);
  rmSync(stage, { recursive: true, force: true });
  return summary;
}
