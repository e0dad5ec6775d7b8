// OCI image layout writer (image-spec v1.1): layers, configs, manifests and an image index as content-addressed
// blobs, the layout's index.json and oci-layout, and one archive of it. Pure except writeLayout. Every byte is a
// function of the inputs (fixed gzip header, canonical JSON key order from the object literals, no timestamps),
// so two builds from the same binary and libraries give the same digests.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type TarEntry, writeTar } from "./tar.ts";

export const MEDIA_TYPE = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: Platform;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface Platform {
  readonly architecture: "amd64" | "arm64";
  readonly os: "linux";
  readonly variant?: string;
}

/** A blob of the layout: its bytes and its descriptor. */
export interface Blob {
  readonly descriptor: Descriptor;
  readonly bytes: Uint8Array<ArrayBuffer>;
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
}

function blob(mediaType: string, bytes: Uint8Array<ArrayBuffer>): Blob {
  return { descriptor: { mediaType, digest: sha256(bytes), size: bytes.length }, bytes };
}

function jsonBlob(mediaType: string, value: unknown): Blob {
  return blob(mediaType, new TextEncoder().encode(JSON.stringify(value)));
}

/**
 * gzip (RFC 1952) with a fixed header: no name, mtime 0, OS "unknown". Bun's gzipSync writes a header of its own
 * choosing; owning the 10 bytes keeps the digest independent of it.
 */
export function gzip(
  data: Uint8Array<ArrayBuffer>,
  level: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 = 6,
): Uint8Array<ArrayBuffer> {
  const body = Bun.deflateSync(data, { level });
  const out = new Uint8Array(10 + body.length + 8);
  out.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  out.set(body, 10);
  const view = new DataView(out.buffer, out.byteOffset + 10 + body.length, 8);
  view.setUint32(0, Bun.hash.crc32(data), true);
  view.setUint32(4, data.length >>> 0, true); // ISIZE: length modulo 2^32
  return out;
}

export interface ImageConfig {
  /** "UID:GID" the container runs as. */
  readonly user: string;
  readonly entrypoint: readonly string[];
  readonly cmd?: readonly string[];
  readonly env?: readonly string[];
  readonly workingDir?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface PlatformImage {
  readonly manifest: Blob;
  readonly config: Blob;
  readonly layer: Blob;
  /** Size of the uncompressed layer (the tar), for the size figures. */
  readonly uncompressedSize: number;
}

/** One single-layer image for one platform: the layer, its config and its manifest. */
export function buildPlatformImage(platform: Platform, files: readonly TarEntry[], config: ImageConfig): PlatformImage {
  const tar = writeTar(files);
  const layer = blob(MEDIA_TYPE.layer, gzip(tar));
  const configBlob = jsonBlob(MEDIA_TYPE.config, {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {
      User: config.user,
      Entrypoint: [...config.entrypoint],
      ...(config.cmd ? { Cmd: [...config.cmd] } : {}),
      ...(config.env ? { Env: [...config.env] } : {}),
      WorkingDir: config.workingDir ?? "/",
      ...(config.labels ? { Labels: { ...config.labels } } : {}),
    },
    rootfs: { type: "layers", diff_ids: [sha256(tar)] },
  });
  const manifest = jsonBlob(MEDIA_TYPE.manifest, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.manifest,
    config: configBlob.descriptor,
    layers: [layer.descriptor],
  });
  return { manifest, config: configBlob, layer, uncompressedSize: tar.length };
}

/** The multi-platform image index over the platform manifests (what a registry serves for the tag). */
export function buildImageIndex(images: readonly { platform: Platform; image: PlatformImage }[]): Blob {
  return jsonBlob(MEDIA_TYPE.index, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.index,
    manifests: images.map(({ platform, image }) => ({ ...image.manifest.descriptor, platform })),
  });
}

export interface Layout {
  /** Files of the layout directory by relative path: oci-layout, index.json, blobs/sha256/<hex>. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** Digest of the image index, the image's digest (as a registry would report it). */
  readonly digest: string;
}

/**
 * The layout of one tagged image. index.json names the image twice: org.opencontainers.image.ref.name (the tag,
 * as the OCI spec and buildkit's exporter do) and io.containerd.image.name (the full reference `ctr images import`
 * stores the image under).
 */
export function buildLayout(index: Blob, others: readonly Blob[], reference: string): Layout {
  const tag = reference.slice(reference.lastIndexOf(":") + 1);
  if (tag.includes("/") || !reference.includes(":")) throw new Error(`image reference "${reference}" has no tag`);
  const files = new Map<string, Uint8Array>();
  for (const b of [index, ...others]) files.set(`blobs/sha256/${b.descriptor.digest.slice("sha256:".length)}`, b.bytes);
  files.set("oci-layout", new TextEncoder().encode(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
  const top = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.index,
    manifests: [
      {
        ...index.descriptor,
        annotations: { "io.containerd.image.name": reference, "org.opencontainers.image.ref.name": tag },
      },
    ],
  };
  files.set("index.json", new TextEncoder().encode(JSON.stringify(top)));
  return { files, digest: index.descriptor.digest };
}

/** The layout as one uncompressed tar (what `ctr images import` and `docker load` read). */
export function layoutArchive(layout: Layout): Uint8Array {
  return writeTar([...layout.files].map(([path, data]) => ({ type: "file", path, mode: 0o644, data })));
}

/** Replaces dir with the layout (a stale blob from an earlier build must not linger). */
export function writeLayout(dir: string, layout: Layout): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, data] of layout.files) {
    const file = join(dir, path);
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, data);
  }
}
