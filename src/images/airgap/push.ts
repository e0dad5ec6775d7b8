// `scone images push`: an archive into a registry, under --to REGISTRY[/PATH] and a name prefix. The archive is
// verified whole before anything is sent; then every blob (skipped when the target already has it: HEAD) and every
// manifest by digest; tags last, and only when nothing failed — a failed push leaves no tag pointing at a partial
// image. Digests are preserved (the bytes are sent as saved), so signatures carried next to them still fit.

import { parseImageRef } from "../signature/reference.ts";
import { type Archive, blobBytes, imageGraph, verifyArchive } from "./archive.ts";
import { blobPath, entryImage, IMAGE_NAME, REF_NAME } from "./layout.ts";
import type { RegistryWriter } from "./registry-writer.ts";

export interface Target {
  /** host[:port] */
  readonly registry: string;
  /** Repository path before the image name ("" for none). */
  readonly path: string;
  /** Prefix of every image name, as `scone operator install --image-prefix`. */
  readonly prefix: string;
}

/** REGISTRY[/PATH] → host and path (the host is checked by the image-reference grammar). */
export function parseTarget(to: string, prefix: string): Target {
  const trimmed = to.replace(/\/+$/, "");
  const ref = parseImageRef(`${trimmed}/${prefix}x`);
  const slash = trimmed.indexOf("/");
  if (ref.registry !== (slash < 0 ? trimmed : trimmed.slice(0, slash)))
    throw new Error(
      `--to '${to}': expected REGISTRY[/PATH] with a registry host[:port], e.g. mirror.example.com:5000/scone`,
    );
  return { registry: ref.registry, path: slash < 0 ? "" : trimmed.slice(slash + 1), prefix };
}

/** Where a source image goes: its last name component under the target path, with the prefix (pure). */
export function targetRepository(source: string, t: Target): string {
  const repo = parseImageRef(source).repository;
  const name = repo.slice(repo.lastIndexOf("/") + 1);
  return `${t.path ? `${t.path}/` : ""}${t.prefix}${name}`;
}

export interface CopySummary {
  /** Blobs uploaded. */
  readonly copied: number;
  /** Blobs the target already had (HEAD). */
  readonly skipped: number;
  /** Manifests put (by digest; tags come after). */
  readonly manifests: number;
  readonly failed: readonly string[];
  /** Image reference in the target → its digest (what an install pins). */
  readonly pushed: readonly { readonly image: string; readonly digest: string; readonly source: string }[];
}

export class ArchiveInvalidError extends Error {
  override name = "ArchiveInvalidError";
  constructor(readonly problems: readonly string[]) {
    super(`the archive failed verification; nothing was pushed:\n${problems.join("\n")}`);
  }
}

export async function pushArchive(
  a: Archive,
  target: Target,
  client: RegistryWriter,
  progress?: (line: string) => void,
): Promise<CopySummary> {
  const verdict = verifyArchive(a);
  if (verdict.problems.length > 0) throw new ArchiveInvalidError(verdict.problems);
  let copied = 0;
  let skipped = 0;
  let manifests = 0;
  const failed: string[] = [];
  const tags: { repo: string; tag: string; mediaType: string; bytes: Uint8Array; source: string; digest: string }[] =
    [];
  const present = new Set<string>();
  const entries = a.index.manifests;
  for (const [n, top] of entries.entries()) {
    const source = entryImage(top);
    const repo = targetRepository(top.annotations?.[IMAGE_NAME] ?? source, target);
    progress?.(`[${n + 1}/${entries.length}] ${target.registry}/${repo}:${top.annotations?.[REF_NAME] ?? top.digest}`);
    try {
      const g = imageGraph(a, top);
      for (const b of g.blobs) {
        const key = `${repo}@${b.digest}`;
        if (present.has(key) || (await client.hasBlob(repo, b.digest))) skipped++;
        else {
          const e = a.entries.get(blobPath(b.digest));
          if (!e) throw new Error(`blob ${b.digest} is missing from the archive`);
          await client.putBlob(repo, b.digest, Bun.file(a.file).slice(e.offset, e.offset + e.size));
          copied++;
        }
        present.add(key);
      }
      for (const m of [...g.children, top]) {
        await client.putManifest(repo, m.digest, m.mediaType, blobBytes(a, m.digest, source));
        manifests++;
      }
      const tag = top.annotations?.[REF_NAME];
      if (tag && tag !== top.digest)
        tags.push({
          repo,
          tag,
          mediaType: top.mediaType,
          bytes: blobBytes(a, top.digest, source),
          source,
          digest: top.digest,
        });
    } catch (e) {
      failed.push(`${source}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (failed.length > 0) return { copied, skipped, manifests, failed, pushed: [] };
  for (const t of tags) {
    try {
      await client.putManifest(t.repo, t.tag, t.mediaType, t.bytes);
    } catch (e) {
      failed.push(`${t.source}: tagging ${t.repo}:${t.tag}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const pushed = tags
    .filter((t) => !t.tag.endsWith(".sig"))
    .map((t) => ({ image: `${target.registry}/${t.repo}:${t.tag}`, digest: t.digest, source: t.source }));
  return { copied, skipped, manifests, failed, pushed };
}
