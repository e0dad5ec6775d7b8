// Deterministic ustar writer for image layers: the same entries always give the same bytes (sorted paths, mtime 0,
// numeric owners, no user/group names, no pax or GNU extensions). Pure. The reader in src/backup/tar.ts is for
// snapshots taken out of pods and keeps to regular files; this one writes directories and symlinks too.

export type TarEntry =
  | { readonly type: "dir"; readonly path: string; readonly mode: number; readonly uid?: number; readonly gid?: number }
  | {
      readonly type: "file";
      readonly path: string;
      readonly mode: number;
      readonly data: Uint8Array;
      readonly uid?: number;
      readonly gid?: number;
    }
  | { readonly type: "symlink"; readonly path: string; readonly target: string };

const BLOCK = 512;
const TYPEFLAG = { file: "0", symlink: "2", dir: "5" } as const;

/** "a/b/" or "/a/b" → "a/b": layer paths are relative, without "." segments (OCI image-layer spec). */
export function normalizeLayerPath(path: string): string {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0 || parts.includes("..")) throw new Error(`tar: path "${path}" is empty or escapes the root`);
  return parts.join("/");
}

function writeString(header: Uint8Array, offset: number, length: number, text: string, what: string): void {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > length) throw new Error(`tar: ${what} "${text}" is longer than ${length} bytes`);
  header.set(bytes, offset);
}

/** Zero-padded octal with a trailing NUL, as ustar wants (e.g. mode "0000755\0"). */
function writeOctal(header: Uint8Array, offset: number, length: number, value: number, what: string): void {
  const digits = value.toString(8).padStart(length - 1, "0");
  if (digits.length > length - 1) throw new Error(`tar: ${what} ${value} does not fit the ustar field`);
  writeString(header, offset, length, `${digits}\0`, what);
}

/** ustar keeps long names as prefix (155) + "/" + name (100). */
function splitName(path: string): { name: string; prefix: string } {
  if (new TextEncoder().encode(path).length <= 100) return { name: path, prefix: "" };
  for (let i = path.indexOf("/"); i > 0; i = path.indexOf("/", i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (new TextEncoder().encode(prefix).length <= 155 && new TextEncoder().encode(name).length <= 100) {
      return { name, prefix };
    }
  }
  throw new Error(`tar: path "${path}" is too long for ustar`);
}

function header(entry: TarEntry, path: string, size: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const { name, prefix } = splitName(entry.type === "dir" ? `${path}/` : path);
  const mode = entry.type === "symlink" ? 0o777 : entry.mode;
  const uid = entry.type === "symlink" ? 0 : (entry.uid ?? 0);
  const gid = entry.type === "symlink" ? 0 : (entry.gid ?? 0);
  writeString(h, 0, 100, name, "name");
  writeOctal(h, 100, 8, mode, "mode");
  writeOctal(h, 108, 8, uid, "uid");
  writeOctal(h, 116, 8, gid, "gid");
  writeOctal(h, 124, 12, size, "size");
  writeOctal(h, 136, 12, 0, "mtime");
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  writeString(h, 156, 1, TYPEFLAG[entry.type], "typeflag");
  if (entry.type === "symlink") writeString(h, 157, 100, entry.target, "symlink target");
  writeString(h, 257, 8, "ustar\u000000", "magic");
  writeOctal(h, 329, 8, 0, "devmajor");
  writeOctal(h, 337, 8, 0, "devminor");
  writeString(h, 345, 155, prefix, "prefix");
  const sum = h.reduce((a, b) => a + b, 0);
  writeString(h, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `, "checksum");
  return h;
}

/**
 * The tar stream of the entries: sorted by path, each parent directory present before its children (missing
 * ones are added as root-owned 0755), duplicates refused. The result is a pure function of the entries.
 */
export function writeTar(entries: readonly TarEntry[]): Uint8Array<ArrayBuffer> {
  const byPath = new Map<string, TarEntry>();
  for (const e of entries) {
    const path = normalizeLayerPath(e.path);
    if (byPath.has(path)) throw new Error(`tar: "${path}" is given twice`);
    byPath.set(path, e);
  }
  for (const path of [...byPath.keys()]) {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/");
      const existing = byPath.get(parent);
      if (existing && existing.type !== "dir")
        throw new Error(`tar: "${parent}" is a parent of "${path}" but not a dir`);
      if (!existing) byPath.set(parent, { type: "dir", path: parent, mode: 0o755 });
    }
  }
  // Byte order, not locale order: the same on every machine.
  const paths = [...byPath.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (const path of paths) {
    const e = byPath.get(path) as TarEntry;
    const data = e.type === "file" ? e.data : new Uint8Array(0);
    const h = header(e, path, data.length);
    chunks.push(h, data);
    const padding = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (padding > 0) chunks.push(new Uint8Array(padding));
    total += BLOCK + data.length + padding;
  }
  const out = new Uint8Array(total + 2 * BLOCK); // two zero blocks end the archive
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
