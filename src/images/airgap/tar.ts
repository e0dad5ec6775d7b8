// The archive's container: a plain ustar file (what `tar -xf` and `skopeo copy oci-archive:` read). Written from a
// directory of regular files; read as an index of entries (name → offset, size) so blobs are hashed and uploaded
// straight from the file, never unpacked.

import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";

const BLOCK = 512;
const CHUNK = 1 << 20;

export interface TarEntry {
  readonly name: string;
  /** Offset of the content in the archive file. */
  readonly offset: number;
  readonly size: number;
}

/** A malformed archive; the message says where. */
export class TarError extends Error {
  override name = "TarError";
}

function header(name: string, size: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new TarError(`tar entry name longer than 100 bytes: ${name}`);
  const h = Buffer.alloc(BLOCK);
  const field = (off: number, len: number, value: string) => h.write(value, off, len, "ascii");
  h.write(name, 0, 100, "utf8");
  field(100, 8, "0000644\0");
  field(108, 8, "0000000\0");
  field(116, 8, "0000000\0");
  field(124, 12, `${size.toString(8).padStart(11, "0")}\0`);
  field(136, 12, "00000000000\0");
  field(148, 8, "        ");
  field(156, 1, "0");
  field(257, 8, "ustar\u000000");
  let sum = 0;
  for (const b of h) sum += b;
  field(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return h;
}

/** Writes `files` (archive name → source path) in order into `out`. */
export function writeTar(out: string, files: readonly { name: string; path: string }[]): void {
  const fd = openSync(out, "w", 0o600);
  const buf = Buffer.alloc(CHUNK);
  try {
    for (const f of files) {
      const src = openSync(f.path, "r");
      try {
        const size = fstatSync(src).size;
        writeSync(fd, header(f.name, size));
        let done = 0;
        while (done < size) {
          const n = readSync(src, buf, 0, Math.min(CHUNK, size - done), done);
          if (n === 0) throw new TarError(`${f.path} shrank while being archived`);
          writeSync(fd, buf, 0, n);
          done += n;
        }
        const pad = (BLOCK - (size % BLOCK)) % BLOCK;
        if (pad) writeSync(fd, Buffer.alloc(pad));
      } finally {
        closeSync(src);
      }
    }
    writeSync(fd, Buffer.alloc(2 * BLOCK));
  } finally {
    closeSync(fd);
  }
}

/** The regular-file entries of a ustar archive (pure over the file's bytes; bounded by the file's size). */
export function readTarIndex(file: string): TarEntry[] {
  const fd = openSync(file, "r");
  try {
    const total = fstatSync(fd).size;
    const entries: TarEntry[] = [];
    const h = Buffer.alloc(BLOCK);
    for (let at = 0; at + BLOCK <= total; ) {
      readSync(fd, h, 0, BLOCK, at);
      if (h.every((b) => b === 0)) break;
      const str = (off: number, len: number) => h.toString("utf8", off, off + len).replace(/\0.*$/s, "");
      const size = Number.parseInt(str(124, 12).trim() || "0", 8);
      if (!Number.isSafeInteger(size) || size < 0 || at + BLOCK + size > total)
        throw new TarError(`${file}: the entry at byte ${at} is cut off or has a bad size`);
      const prefix = str(345, 155);
      const name = prefix ? `${prefix}/${str(0, 100)}` : str(0, 100);
      const type = str(156, 1);
      if (type === "0" || type === "") entries.push({ name, offset: at + BLOCK, size });
      at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    }
    return entries;
  } finally {
    closeSync(fd);
  }
}

/** Reads one entry whole (manifests, index.json: small, bounded by the caller). */
export function readEntry(file: string, e: TarEntry): Buffer {
  const fd = openSync(file, "r");
  try {
    const b = Buffer.alloc(e.size);
    readSync(fd, b, 0, e.size, e.offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** Calls `update` with the entry's bytes in chunks (hashing without holding a layer in memory). */
export function streamEntry(file: string, e: TarEntry, update: (chunk: Buffer) => void): void {
  const fd = openSync(file, "r");
  const buf = Buffer.alloc(CHUNK);
  try {
    for (let done = 0; done < e.size; ) {
      const n = readSync(fd, buf, 0, Math.min(CHUNK, e.size - done), e.offset + done);
      if (n === 0) throw new TarError(`${file}: ${e.name} is cut off`);
      update(buf.subarray(0, n));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}
