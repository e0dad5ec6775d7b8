// Where operation parameters may point: what an operate token can make the API touch on its host and in S3.
// A local backup target (and the directory a restored backup was read from) must be at or under the backup root
// (`scone api --backup-root`, default <state-dir>/backups); an S3 location must be at or under an entry of the
// allow-list (`--s3-allow`, default: none). The decisions are pure (lexical, on parsed locations); realPathWithin
// adds the one I/O step — following symlinks of the part that exists — so a link inside the root cannot lead out.
import { realpathSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { formatBackupLocation, parseBackupLocation } from "../../backup/location.ts";

export interface S3Prefix {
  readonly bucket: string;
  /** "" = the whole bucket; else segments joined by "/" without leading or trailing "/". */
  readonly prefix: string;
}

export interface Confinement {
  /** Absolute directory; local targets must resolve at or under it. null: no local directory at all. */
  readonly backupRoot: string | null;
  /** S3 locations allowed; empty: no S3 at all. */
  readonly s3Allow: readonly S3Prefix[];
}

/** Allows nothing: for an API built without a confinement (tests, benchmarks). */
export const NOTHING_ALLOWED: Confinement = { backupRoot: null, s3Allow: [] };

/** Why a location is refused, written for the caller (names the setting that would allow it). */
export type Refusal = string;

/** Parses one `--s3-allow` entry; throws naming the flag. */
export function parseS3Allow(entry: string): S3Prefix {
  const problem = `--s3-allow ${JSON.stringify(entry)}: give s3://bucket or s3://bucket/prefix`;
  if (!/^s3:\/\//i.test(entry)) throw new Error(problem);
  try {
    const parsed = parseBackupLocation(entry, "--s3-allow");
    if (parsed.kind !== "s3") throw new Error(problem);
    return { bucket: parsed.bucket, prefix: parsed.prefix };
  } catch (err) {
    throw new Error(err instanceof Error && err.message.startsWith("--s3-allow") ? err.message : problem);
  }
}

/**
 * Builds the confinement of `scone api`; throws naming the flag for a bad value. backupRoot null: no local directory
 * (the API in a pod without --backup-root: its state directory is an emptyDir, gone with the pod).
 */
export function confinement(opts: { backupRoot: string | null; s3Allow?: readonly string[] }): Confinement {
  const s3Allow = (opts.s3Allow ?? []).map(parseS3Allow);
  if (opts.backupRoot === null) return { backupRoot: null, s3Allow };
  if (!isAbsolute(opts.backupRoot) || opts.backupRoot.includes("\0")) {
    throw new Error(`--backup-root ${JSON.stringify(opts.backupRoot)}: give an absolute directory`);
  }
  return { backupRoot: resolve(opts.backupRoot), s3Allow };
}

/** The locations a confinement allows, as targets to read caches from: the backup root, then each S3 entry. */
export function confinedLocations(c: Confinement): string[] {
  return [
    ...(c.backupRoot === null ? [] : [c.backupRoot]),
    ...c.s3Allow.map((a) => formatBackupLocation({ kind: "s3", ...a })),
  ];
}

const describeAllowList = (c: Confinement): string =>
  c.s3Allow.length === 0
    ? "this API allows no S3 location (start scone api with --s3-allow s3://bucket[/prefix])"
    : `allowed: ${c.s3Allow.map((a) => formatBackupLocation({ kind: "s3", ...a })).join(", ")} (scone api --s3-allow)`;

/** True when `path` is `root` or below it; both absolute and normalised. */
export function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!isAbsolute(rel) && rel !== ".." && !rel.startsWith(`..${sep}`));
}

function s3Allowed(c: Confinement, loc: S3Prefix): boolean {
  return c.s3Allow.some(
    (a) =>
      a.bucket === loc.bucket && (a.prefix === "" || loc.prefix === a.prefix || loc.prefix.startsWith(`${a.prefix}/`)),
  );
}

/**
 * The lexical decision for a backup target or a catalog entry's location: undefined when allowed, else why not.
 * Directories are judged after resolving "." and ".." (never relative: those would depend on the API's cwd).
 */
export function refuseLocation(c: Confinement, location: string): Refusal | undefined {
  if (location.includes("\0")) return "must not contain a NUL character";
  if (!/^s3:\/\//i.test(location) && !isAbsolute(location)) {
    return `must be an absolute directory under the backup root ${c.backupRoot ?? "(none)"} or an s3:// URL`;
  }
  let parsed: ReturnType<typeof parseBackupLocation>;
  try {
    parsed = parseBackupLocation(location, "location");
  } catch (err) {
    return err instanceof Error ? err.message.replace(/^location:?\s*/, "") : "is not a directory or s3:// URL";
  }
  if (parsed.kind === "s3") {
    return s3Allowed(c, parsed) ? undefined : `${formatBackupLocation(parsed)} is not allowed: ${describeAllowList(c)}`;
  }
  if (c.backupRoot === null)
    return `${parsed.path}: this API allows no local directory (in a pod its state directory is an emptyDir: start scone api with --backup-root DIR on a persistent volume, or use an s3:// location)`;
  return isWithin(c.backupRoot, parsed.path)
    ? undefined
    : `${parsed.path} is outside the backup root ${c.backupRoot} (scone api --backup-root DIR)`;
}

/**
 * The I/O half for directories: the real path of the longest existing ancestor of `path`, rejoined with the rest,
 * must stay under the real backup root (a symlink inside the root pointing at /etc is refused). S3 URLs pass.
 */
export function refuseRealPath(c: Confinement, location: string): Refusal | undefined {
  if (/^s3:\/\//i.test(location) || c.backupRoot === null) return undefined;
  const wanted = resolve(location);
  const root = realOfExistingPart(c.backupRoot);
  const real = realOfExistingPart(wanted);
  return isWithin(root, real)
    ? undefined
    : `${wanted} leads outside the backup root ${c.backupRoot} through a symbolic link`;
}

/** Both checks, as used before anything is written or read. */
export function refuseBackupLocation(c: Confinement, location: string): Refusal | undefined {
  return refuseLocation(c, location) ?? refuseRealPath(c, location);
}

function realOfExistingPart(path: string): string {
  let existing = path;
  const rest: string[] = [];
  for (;;) {
    try {
      return resolve(realpathSync(existing), ...rest.reverse());
    } catch {
      const parent = dirname(existing);
      if (parent === existing) return path;
      rest.push(existing.slice(parent.length).replace(/^[/\\]+/, ""));
      existing = parent;
    }
  }
}
