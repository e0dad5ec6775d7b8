// Reading a saved archive: its index, the graph of each carried image (manifests, child manifests of the
// carried platforms, config and layers), and `scone images verify`: every blob's digest and size checked,
// every blob an image needs present; a bad blob is reported with the image(s) that need it.

import { createHash } from "node:crypto";
import { MAX_MANIFEST_BYTES } from "../signature/registry.ts";
import {
  blobPath,
  type Descriptor,
  entryImage,
  isIndex,
  LayoutError,
  type LayoutIndex,
  PLATFORMS,
  parseLayoutIndex,
  parseManifest,
  platformFilter,
} from "./layout.ts";
import { readEntry, readTarIndex, streamEntry, type TarEntry } from "./tar.ts";

export interface Archive {
  readonly file: string;
  readonly entries: ReadonlyMap<string, TarEntry>;
  readonly index: LayoutIndex;
}

export function openArchive(file: string): Archive {
  const entries = new Map(readTarIndex(file).map((e) => [e.name.replace(/^\.\//, ""), e]));
  const layout = entries.get("oci-layout");
  const index = entries.get("index.json");
  if (!layout || !index)
    throw new LayoutError(`${file}: not an OCI image layout archive (no oci-layout or index.json)`);
  if (index.size > MAX_MANIFEST_BYTES)
    throw new LayoutError(`${file}: index.json is larger than ${MAX_MANIFEST_BYTES} bytes`);
  return { file, entries, index: parseLayoutIndex(readEntry(file, index)) };
}

/** One carried manifest with everything it needs, children first (the order a push must follow). */
export interface ImageGraph {
  readonly top: Descriptor;
  /** Child manifests (an index's carried platforms), before the top manifest. */
  readonly children: readonly Descriptor[];
  /** Configs and layers. */
  readonly blobs: readonly Descriptor[];
}

export function blobBytes(a: Archive, digest: string, where: string): Buffer {
  const e = a.entries.get(blobPath(digest));
  if (!e) throw new LayoutError(`${where}: blob ${digest} is missing from the archive`);
  // Only manifests are read whole; layers are streamed. A "manifest" larger than that is not read into memory.
  if (e.size > MAX_MANIFEST_BYTES) throw new LayoutError(`${where}: manifest ${digest} is larger than allowed`);
  return readEntry(a.file, e);
}

export function imageGraph(a: Archive, top: Descriptor): ImageGraph {
  const where = entryImage(top);
  const m = parseManifest(blobBytes(a, top.digest, where), where);
  if (!isIndex(m)) return { top, children: [], blobs: m.blobs };
  const carried = platformFilter(top.annotations?.[PLATFORMS]);
  const children = m.manifests.filter(carried);
  const blobs = children.flatMap((c) => parseManifest(blobBytes(a, c.digest, where), where).blobs);
  return { top, children, blobs };
}

export interface VerifyResult {
  readonly images: number;
  readonly blobs: number;
  readonly bytes: number;
  /** One line per problem, naming the blob and the image(s) that need it. */
  readonly problems: readonly string[];
}

/** Every blob hashed and sized; every manifest graph walked. Reads the archive once, a chunk at a time. */
export function verifyArchive(a: Archive): VerifyResult {
  const actual = new Map<string, { digest: string; size: number }>();
  let bytes = 0;
  for (const [name, e] of a.entries) {
    if (!name.startsWith("blobs/sha256/")) continue;
    const h = createHash("sha256");
    streamEntry(a.file, e, (c) => h.update(c));
    actual.set(name, { digest: `sha256:${h.digest("hex")}`, size: e.size });
    bytes += e.size;
  }
  const problems = new Map<string, Set<string>>();
  const problem = (what: string, image: string) => {
    const set = problems.get(what) ?? new Set<string>();
    set.add(image);
    problems.set(what, set);
  };
  const check = (d: Descriptor, image: string): boolean => {
    const got = actual.get(blobPath(d.digest));
    if (!got) problem(`blob ${d.digest} is missing`, image);
    else if (got.digest !== d.digest)
      problem(`blob ${d.digest} is corrupt: its content hashes to ${got.digest}`, image);
    else if (got.size !== d.size)
      problem(`blob ${d.digest} has ${got.size} bytes, its descriptor says ${d.size}`, image);
    else return true;
    return false;
  };
  for (const top of a.index.manifests) {
    const image = entryImage(top);
    if (!check(top, image)) continue;
    try {
      const m = parseManifest(blobBytes(a, top.digest, image), image);
      const carried = platformFilter(top.annotations?.[PLATFORMS]);
      const children = isIndex(m) ? m.manifests.filter(carried) : [];
      const blobs = [...m.blobs];
      for (const c of children)
        if (check(c, image)) blobs.push(...parseManifest(blobBytes(a, c.digest, image), image).blobs);
      for (const b of blobs) check(b, image);
    } catch (e) {
      problem(e instanceof Error ? e.message : String(e), image);
    }
  }
  return {
    images: a.index.manifests.length,
    blobs: actual.size,
    bytes,
    problems: [...problems].map(([what, images]) => `${what} (image ${[...images].sort().join(", ")})`),
  };
}
