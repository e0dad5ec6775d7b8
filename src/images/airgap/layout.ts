// The archive's OCI image layout: index.json names every carried manifest — each image under its full source
// reference, each cosign signature manifest (tag sha256-<hex>.sig) next to it — and the platforms carried. Pure:
// parsing manifests into the descriptors they reference, and which of them a copy must carry.

import { DIGEST } from "../signature/reference.ts";
import { MAX_MANIFEST_BYTES } from "../signature/registry.ts";

export const REF_NAME = "org.opencontainers.image.ref.name";
export const IMAGE_NAME = "io.containerd.image.name";
export const COMPONENT = "cloud.scone.images.component";
export const PLATFORMS = "cloud.scone.images.platforms";
export const SIGNATURE_OF = "cloud.scone.images.signature-of";
export const INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json";

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: { readonly os?: string; readonly architecture?: string; readonly variant?: string };
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface LayoutIndex {
  readonly schemaVersion: 2;
  readonly mediaType: typeof INDEX_MEDIA_TYPE;
  readonly manifests: readonly Descriptor[];
}

/** A manifest or layout that cannot be read; the message names it. */
export class LayoutError extends Error {
  override name = "LayoutError";
}

const isIndexType = (t: string) => t.includes("image.index") || t.includes("manifest.list");

function descriptor(v: unknown, where: string): Descriptor {
  const d = v as Partial<Descriptor> | null;
  if (!d || typeof d !== "object" || typeof d.digest !== "string" || !DIGEST.test(d.digest))
    throw new LayoutError(`${where}: a descriptor without a sha256 digest`);
  if (typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0)
    throw new LayoutError(`${where}: descriptor ${d.digest} has no valid size`);
  return { ...d, mediaType: typeof d.mediaType === "string" ? d.mediaType : "", digest: d.digest, size: d.size };
}

export interface ManifestContent {
  readonly mediaType: string;
  /** Child manifests (an index). */
  readonly manifests: readonly Descriptor[];
  /** Config and layers (an image manifest). */
  readonly blobs: readonly Descriptor[];
}

/** The descriptors a manifest references (pure; bounded by MAX_MANIFEST_BYTES). */
export function parseManifest(bytes: Uint8Array, where: string): ManifestContent {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) throw new LayoutError(`${where}: manifest larger than allowed`);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch {
    throw new LayoutError(`${where}: the manifest is not JSON`);
  }
  const list = (v: unknown) => (Array.isArray(v) ? v.map((d) => descriptor(d, where)) : []);
  const manifests = list(doc.manifests);
  const mediaType = typeof doc.mediaType === "string" ? doc.mediaType : manifests.length > 0 ? INDEX_MEDIA_TYPE : "";
  const config = doc.config === undefined ? [] : [descriptor(doc.config, where)];
  return { mediaType, manifests, blobs: [...config, ...list(doc.layers)] };
}

export const isIndex = (m: ManifestContent): boolean => isIndexType(m.mediaType) || m.manifests.length > 0;

/** "linux/amd64,linux/arm64/v8" → a predicate on a child's platform; undefined → every platform. */
export function platformFilter(list: string | undefined): (d: Descriptor) => boolean {
  if (!list) return () => true;
  const wanted = list
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  return (d) => {
    const p = d.platform;
    if (!p) return false;
    const full = [p.os, p.architecture, p.variant].filter(Boolean).join("/");
    const short = `${p.os}/${p.architecture}`;
    return wanted.some((w) => w === full || w === short);
  };
}

/** `--platform` grammar: os/arch[/variant], comma separated. */
export function platformProblem(list: string): string | undefined {
  const ok = list.split(",").every((p) => /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/.test(p.trim()));
  return ok
    ? undefined
    : `--platform '${list.slice(0, 100)}': expected os/arch[/variant], comma separated (e.g. linux/amd64,linux/arm64)`;
}

/** The layout's index.json (pure). */
export function parseLayoutIndex(bytes: Uint8Array): LayoutIndex {
  const content = parseManifest(bytes, "index.json");
  return { schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests: content.manifests };
}

/** The image a top-level entry belongs to: its own name, or the image it is the signature of. */
export function entryImage(d: Descriptor): string {
  return d.annotations?.[SIGNATURE_OF] ?? d.annotations?.[IMAGE_NAME] ?? d.digest;
}

export const blobPath = (digest: string): string => `blobs/sha256/${digest.slice("sha256:".length)}`;
