// Reads the tar stream `tar -cf -` writes (ustar, GNU and pax variants): regular files with name, mtime and bytes.
// Enough to take the CAS snapshot files out of a pod without a tar binary on this side. Pure. The stream comes from
// a pod (outside input): every header is checksummed, every size checked against what is there; malformed input
// throws an Error starting "tar:" (test/fuzz/backup-tar.test.ts).

export interface TarEntry {
  name: string;
  /** Modification time, seconds since the epoch. */
  mtime: number;
  data: Uint8Array;
}

const BLOCK = 512;

function field(header: Uint8Array, start: number, length: number): string {
  const bytes = header.subarray(start, start + length);
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end === -1 ? bytes : bytes.subarray(0, end));
}

function octal(header: Uint8Array, start: number, length: number, what: string): number {
  const text = field(header, start, length).trim();
  if (!/^[0-7]*$/.test(text)) throw new Error(`tar: ${what} field "${text}" is not octal (not a tar stream?)`);
  return text === "" ? 0 : Number.parseInt(text, 8);
}

/** The header checksum: the byte sum with the checksum field itself counted as spaces (POSIX ustar). */
function checksumOk(header: Uint8Array): boolean {
  const text = field(header, 148, 8).trim();
  if (!/^[0-7]{1,7}$/.test(text)) return false;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] as number);
  return sum === Number.parseInt(text, 8);
}

/** pax extended header records: "<len> key=value\n". Only `path` matters here. */
function paxPath(data: Uint8Array): string | undefined {
  const text = new TextDecoder().decode(data);
  const match = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text);
  return match?.[1];
}

/** Regular files of the archive, in order. Throws on a truncated or malformed stream. */
export function readTar(archive: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let at = 0;
  let longName: string | undefined;
  while (at + BLOCK <= archive.length) {
    const header = archive.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) return entries; // end-of-archive marker
    if (!checksumOk(header)) throw new Error(`tar: header at byte ${at} has a wrong checksum (not a tar stream?)`);
    const size = octal(header, 124, 12, "size");
    const mtime = octal(header, 136, 12, "mtime");
    const type = String.fromCharCode(header[156] ?? 0);
    const magic = field(header, 257, 6);
    const prefix = magic.startsWith("ustar") ? field(header, 345, 155) : "";
    const start = at + BLOCK;
    const end = start + size;
    if (end > archive.length) throw new Error("tar: archive is truncated (an entry runs past its end)");
    const data = archive.subarray(start, end);
    at = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "L" || type === "x") {
      // GNU long name / pax header: applies to the next entry.
      longName = type === "L" ? field(data, 0, data.length) : paxPath(data);
      continue;
    }
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;
    if (type === "0" || type === "\0") entries.push({ name: name.replace(/^\.\//, ""), mtime, data });
  }
  throw new Error("tar: archive ends without its end-of-archive blocks (truncated)");
}
