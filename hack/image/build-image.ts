// `make image`: scone's OCI image for linux/amd64 and linux/arm64 without a container engine. Bun cross-compiles the
// binary (build.ts, SCONE_TARGET), Debian's pinned libc6 supplies the loader and libraries (debs.ts), and our own
// writer lays out the image (rootfs.ts, tar.ts, oci.ts). Output: dist/image/oci (OCI layout, index of both
// platforms) and dist/image/scone-<version>.oci.tar (that layout as one archive, for `ctr images import` or
// `docker load`). Prints the index digest. See hack/image/README.md for the choices.
//
//   bun run hack/image/build-image.ts [--platforms linux/amd64,linux/arm64] [--image-registry URL]
//     [--image-prefix PREFIX] [--out DIR] [--binary linux/ARCH=PATH]... [--libc-root DIR]
//   COSIGN_KEY=cosign.key (and COSIGN_PASSWORD): also sign the image (hack/image/cosign-signature.ts)
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import pkg from "../../package.json" with { type: "json" };
import { signatureTag } from "../../src/images/signature/reference.ts";
import { OPERATOR_IMAGE_TAG, operatorImage } from "../../src/install/images.ts";
import { attachSignature, cosignSignPayload, simpleSigningPayload } from "./cosign-signature.ts";
import { type Arch, LIBC6, libc6Root, prefetchLibc6 } from "./debs.ts";
import {
  type Blob,
  buildImageIndex,
  buildLayout,
  buildPlatformImage,
  type Layout,
  layoutArchive,
  type Platform,
  type PlatformImage,
  writeLayout,
} from "./oci.ts";
import { BINARY_PATH, NONROOT, rootfsEntries } from "./rootfs.ts";

const ROOT = resolve(import.meta.dir, "../..");
const ARCHES: readonly Arch[] = ["amd64", "arm64"];

export interface PlatformInput {
  readonly arch: Arch;
  readonly binary: Uint8Array;
  /** Directory holding the loader and libraries (an unpacked libc6, or "/" for the build machine's own). */
  readonly libcRoot: string;
}

export interface BuiltImage {
  readonly layout: Layout;
  readonly platforms: readonly { arch: Arch; image: PlatformImage }[];
}

const PLATFORM: Record<Arch, Platform> = {
  amd64: { architecture: "amd64", os: "linux" },
  arm64: { architecture: "arm64", os: "linux", variant: "v8" },
};

/** The image of the given binaries under reference (a pure function of the inputs and the libc files). */
export function buildImage(
  inputs: readonly PlatformInput[],
  reference: string,
  labels: Readonly<Record<string, string>>,
): BuiltImage {
  const platforms = inputs.map(({ arch, binary, libcRoot }) => ({
    arch,
    platform: PLATFORM[arch],
    image: buildPlatformImage(PLATFORM[arch], rootfsEntries(arch, binary, libcRoot), {
      user: `${NONROOT}:${NONROOT}`,
      entrypoint: [BINARY_PATH],
      labels,
    }),
  }));
  const index = buildImageIndex(platforms);
  const blobs: Blob[] = platforms.flatMap(({ image }) => [image.manifest, image.config, image.layer]);
  return { layout: buildLayout(index, blobs, reference), platforms };
}

function fail(message: string): never {
  console.error(`build-image: ${message}`);
  process.exit(2);
}

function parsePlatforms(text: string): Arch[] {
  const arches = text.split(",").map((p) => {
    const arch = p.trim().replace(/^linux\//, "") as Arch;
    if (!ARCHES.includes(arch)) fail(`--platforms: "${p}" is not linux/amd64 or linux/arm64`);
    return arch;
  });
  return [...new Set(arches)];
}

function parseBinaries(values: readonly string[]): Map<Arch, string> {
  const out = new Map<Arch, string>();
  for (const v of values) {
    const m = /^(?:linux\/)?(amd64|arm64)=(.+)$/.exec(v);
    if (!m) fail(`--binary "${v}": expected linux/amd64=PATH or linux/arm64=PATH`);
    out.set(m[1] as Arch, m[2] as string);
  }
  return out;
}

/** Cross-compiles scone for arch with build.ts. The file is always named "scone": Bun embeds the name. */
function compile(arch: Arch, outDir: string): string {
  const outfile = join(outDir, `linux-${arch}`, "scone");
  const p = Bun.spawnSync([process.execPath, "run", join(ROOT, "build.ts")], {
    cwd: ROOT,
    env: { ...process.env, SCONE_TARGET: `linux-${arch}`, SCONE_OUTFILE: outfile },
    stdout: "inherit",
    stderr: "inherit",
  });
  if (p.exitCode !== 0) fail(`compiling for linux/${arch} failed (exit ${p.exitCode}); see above`);
  return outfile;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

function parseFlags(args: string[]) {
  try {
    return parseFlagsStrict(args);
  } catch (e) {
    fail(`${e instanceof Error ? e.message : e} (flags: see hack/image/README.md)`);
  }
}

function parseFlagsStrict(args: string[]) {
  return parseArgs({
    args,
    options: {
      platforms: { type: "string", default: "linux/amd64,linux/arm64" },
      "image-registry": { type: "string" },
      "image-prefix": { type: "string", default: "" },
      out: { type: "string", default: join(ROOT, "dist", "image") },
      binary: { type: "string", multiple: true, default: [] },
      "libc-root": { type: "string" },
    },
    strict: true,
  });
}

async function main(): Promise<void> {
  const { values } = parseFlags(process.argv.slice(2));
  const started = performance.now();
  const arches = parsePlatforms(values.platforms);
  const binaries = parseBinaries(values.binary);
  for (const arch of binaries.keys()) {
    if (!arches.includes(arch)) fail(`--binary linux/${arch}=… names a platform not in --platforms`);
  }
  const out = resolve(values.out);
  mkdirSync(out, { recursive: true });
  const reference = operatorImage(values["image-registry"], values["image-prefix"]);
  const commit = Bun.spawnSync(["git", "rev-parse", "HEAD"], { cwd: ROOT }).stdout.toString().trim() || "unknown";
  const libcRoot = values["libc-root"];
  if (libcRoot === undefined) prefetchLibc6(arches);
  const inputs: PlatformInput[] = arches.map((arch) => ({
    arch,
    binary: readFileSync(binaries.get(arch) ?? compile(arch, out)),
    libcRoot: libcRoot === undefined ? libc6Root(arch) : resolve(libcRoot),
  }));
  const labels = {
    "org.opencontainers.image.title": "scone",
    "org.opencontainers.image.version": OPERATOR_IMAGE_TAG,
    "org.opencontainers.image.revision": commit,
    "org.opencontainers.image.description": `scone ${pkg.version}; glibc from Debian libc6 ${libcRoot === undefined ? LIBC6.version : `(${libcRoot})`}`,
  };
  const built = buildImage(inputs, reference, labels);
  // COSIGN_KEY: the layout also carries the image's cosign signature (hack/image/cosign-signature.ts).
  const key = process.env.COSIGN_KEY;
  const payload = key ? simpleSigningPayload(reference, built.layout.digest) : undefined;
  const layout =
    key && payload ? attachSignature(built.layout, payload, cosignSignPayload(key, payload)) : built.layout;
  writeLayout(join(out, "oci"), layout);
  const archive = join(out, `scone-${OPERATOR_IMAGE_TAG}.oci.tar`);
  writeFileSync(archive, layoutArchive(layout));
  if (key) console.log(`signed with ${key}: ${signatureTag(built.layout.digest)}`);
  const sizes = built.platforms.map(({ arch, image }) => ({
    platform: `linux/${arch}`,
    manifest: image.manifest.descriptor.digest,
    compressed: image.layer.descriptor.size + image.config.descriptor.size + image.manifest.descriptor.size,
    uncompressed: image.uncompressedSize,
  }));
  writeFileSync(
    join(out, "image.json"),
    `${JSON.stringify({ reference, digest: built.layout.digest, sizes }, null, 2)}\n`,
  );
  for (const s of sizes) {
    console.log(`${s.platform}: ${mb(s.compressed)} compressed, ${mb(s.uncompressed)} uncompressed (${s.manifest})`);
  }
  console.log(`image ${reference} → ${join(out, "oci")}, ${archive}`);
  console.log(`built in ${((performance.now() - started) / 1000).toFixed(1)} s; index digest:`);
  console.log(built.layout.digest);
}

if (import.meta.main) await main();
