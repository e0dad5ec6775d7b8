// The OCI writer: content addresses, the fixed gzip header, and the fields runtimes read from the config,
// manifest, index and index.json (user, entrypoint, platforms, diff_ids, the names `ctr images import` uses).
import { describe, expect, test } from "bun:test";
import {
  buildImageIndex,
  buildLayout,
  buildPlatformImage,
  gzip,
  layoutArchive,
  MEDIA_TYPE,
  sha256,
} from "../../../../hack/image/oci.ts";
import type { TarEntry } from "../../../../hack/image/tar.ts";
import { readTar } from "../../../../src/backup/tar.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const json = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b));
const files: TarEntry[] = [
  { type: "file", path: "scone", mode: 0o755, data: bytes("bin") },
  { type: "dir", path: "tmp", mode: 0o1777 },
];
const config = { user: "65532:65532", entrypoint: ["/scone"], labels: { "org.opencontainers.image.version": "1.2.3" } };

describe("digests and gzip", () => {
  test("sha256 in the OCI digest form", () => {
    expect(sha256(bytes("abc"))).toBe("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  test("gzip has a fixed header (no name, mtime 0) and gunzip (checking CRC and length) gives the input back", () => {
    const data = bytes("hello ".repeat(1000));
    const gz = gzip(data);
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    const p = Bun.spawnSync(["gzip", "-dc"], { stdin: gz, stdout: "pipe", stderr: "pipe" });
    expect(p.stderr.toString()).toBe("");
    expect(p.stdout.toString()).toBe("hello ".repeat(1000));
    expect(sha256(gzip(data))).toBe(sha256(gz));
  });
});

describe("one platform's image", () => {
  const image = buildPlatformImage({ architecture: "arm64", os: "linux", variant: "v8" }, files, config);

  test("config: platform, non-root user, entrypoint, labels and the uncompressed layer's diff_id", () => {
    const c = json(image.config.bytes);
    expect(c.architecture).toBe("arm64");
    expect(c.os).toBe("linux");
    expect(c.variant).toBe("v8");
    expect(c.config).toEqual({
      User: "65532:65532",
      Entrypoint: ["/scone"],
      WorkingDir: "/",
      Labels: { "org.opencontainers.image.version": "1.2.3" },
    });
    const tar = Bun.gunzipSync(image.layer.bytes);
    expect(c.rootfs).toEqual({ type: "layers", diff_ids: [sha256(tar)] });
    expect(image.uncompressedSize).toBe(tar.length);
    expect(readTar(tar).map((f) => f.name)).toEqual(["scone"]);
  });

  test("manifest: descriptors whose digest and size are those of the blobs", () => {
    const m = json(image.manifest.bytes);
    expect(m.schemaVersion).toBe(2);
    expect(m.mediaType).toBe(MEDIA_TYPE.manifest);
    expect(m.config).toEqual({
      mediaType: MEDIA_TYPE.config,
      digest: sha256(image.config.bytes),
      size: image.config.bytes.length,
    });
    expect(m.layers).toEqual([
      { mediaType: MEDIA_TYPE.layer, digest: sha256(image.layer.bytes), size: image.layer.bytes.length },
    ]);
    expect(image.manifest.descriptor.digest).toBe(sha256(image.manifest.bytes));
  });

  test("the same inputs give the same digests; another binary another one", () => {
    const again = buildPlatformImage({ architecture: "arm64", os: "linux", variant: "v8" }, files, config);
    expect(again.manifest.descriptor.digest).toBe(image.manifest.descriptor.digest);
    const other = buildPlatformImage(
      { architecture: "arm64", os: "linux", variant: "v8" },
      [{ type: "file", path: "scone", mode: 0o755, data: bytes("bin2") }],
      config,
    );
    expect(other.manifest.descriptor.digest).not.toBe(image.manifest.descriptor.digest);
  });
});

describe("index and layout", () => {
  const amd64 = { architecture: "amd64", os: "linux" } as const;
  const arm64 = { architecture: "arm64", os: "linux", variant: "v8" } as const;
  const images = [
    { platform: amd64, image: buildPlatformImage(amd64, files, config) },
    { platform: arm64, image: buildPlatformImage(arm64, files, config) },
  ];
  const index = buildImageIndex(images);
  const blobs = images.flatMap(({ image }) => [image.manifest, image.config, image.layer]);
  const layout = buildLayout(index, blobs, "registry.example/scone/scone:1.2.3");

  test("the image index names each platform's manifest", () => {
    const i = json(index.bytes);
    expect(i.mediaType).toBe(MEDIA_TYPE.index);
    expect(i.manifests).toEqual(
      images.map(({ platform, image }) => ({
        mediaType: MEDIA_TYPE.manifest,
        digest: image.manifest.descriptor.digest,
        size: image.manifest.bytes.length,
        platform,
      })),
    );
  });

  test("index.json points at the image index under its tag and full name; every blob sits at its digest", () => {
    const top = json(layout.files.get("index.json") as Uint8Array);
    expect(top.manifests).toEqual([
      {
        mediaType: MEDIA_TYPE.index,
        digest: index.descriptor.digest,
        size: index.bytes.length,
        annotations: {
          "io.containerd.image.name": "registry.example/scone/scone:1.2.3",
          "org.opencontainers.image.ref.name": "1.2.3",
        },
      },
    ]);
    expect(layout.digest).toBe(index.descriptor.digest);
    expect(json(layout.files.get("oci-layout") as Uint8Array)).toEqual({ imageLayoutVersion: "1.0.0" });
    const stored = [...layout.files].filter(([p]) => p.startsWith("blobs/"));
    // One file per distinct blob: the two platforms' identical layers are stored once.
    expect(stored.length).toBe(new Set([index, ...blobs].map((b) => b.descriptor.digest)).size);
    for (const [path, data] of stored) expect(`blobs/sha256/${sha256(data).slice(7)}`).toBe(path);
  });

  test("the archive holds the layout's files", () => {
    const names = readTar(layoutArchive(layout)).map((f) => f.name);
    expect(names.sort()).toEqual([...layout.files.keys()].sort());
  });

  test("a reference without a tag is refused", () => {
    expect(() => buildLayout(index, blobs, "registry.example:5000/scone")).toThrow("has no tag");
  });
});
