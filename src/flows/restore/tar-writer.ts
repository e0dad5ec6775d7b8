// Writes a ustar archive of regular files (short names only), for `tar -xf -` in the restored CAS pod: the
// counterpart of src/backup/tar.ts's reader. Pure.

export interface TarFile {
  /** At most 100 bytes, no directories. */
  readonly name: string;
  readonly data: Uint8Array;
  /** Default 0o660 (upstream: owner and group read/write). */
  readonly mode?: number;
  /** Default 1000:1000 (the CAS user in SCONE's images). */
  readonly uid?: number;
  readonly gid?: number;
  /** Seconds since the epoch; default 0. */
  readonly mtime?: number;
}

const BLOCK = 512;

function put(header: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > length) throw new Error(`tar: "${text}" does not fit a ${length}-byte field`);
  header.set(bytes, offset);
}

const octal = (value: number, width: number): string => `${value.toString(8).padStart(width - 1, "0")}\0`;

function header(file: TarFile): Uint8Array {
  if (file.name === "" || file.name.includes("/") || new TextEncoder().encode(file.name).length > 100) {
    throw new Error(`tar: "${file.name}" is not a short file name`);
  }
  const h = new Uint8Array(BLOCK);
  put(h, 0, 100, file.name);
  put(h, 100, 8, octal(file.mode ?? 0o660, 8));
  put(h, 108, 8, octal(file.uid ?? 1000, 8));
  put(h, 116, 8, octal(file.gid ?? 1000, 8));
  put(h, 124, 12, octal(file.data.length, 12));
  put(h, 136, 12, octal(file.mtime ?? 0, 12));
  put(h, 148, 8, "        "); // checksum is computed over the header with this field as spaces
  put(h, 156, 1, "0");
  put(h, 257, 6, "ustar\0");
  put(h, 263, 2, "00");
  const sum = h.reduce((a, b) => a + b, 0);
  put(h, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return h;
}

export function writeTar(files: readonly TarFile[]): Uint8Array {
  const size = files.reduce((n, f) => n + BLOCK + Math.ceil(f.data.length / BLOCK) * BLOCK, 2 * BLOCK);
  const out = new Uint8Array(size);
  let at = 0;
  for (const f of files) {
    out.set(header(f), at);
    at += BLOCK;
    out.set(f.data, at);
    at += Math.ceil(f.data.length / BLOCK) * BLOCK;
  }
  return out; // the trailing two zero blocks are already zero
}
