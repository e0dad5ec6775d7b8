// The layer tar writer: GNU tar reads what it writes with the owners, modes, types and mtime asked for, and the
// bytes depend only on the entries (not on their order).
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TarEntry, writeTar } from "../../../../hack/image/tar.ts";
import { readTar } from "../../../../src/backup/tar.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

const entries: TarEntry[] = [
  { type: "file", path: "/scone", mode: 0o755, data: bytes("#binary") },
  { type: "symlink", path: "lib64/ld.so", target: "/lib/x/ld.so" },
  { type: "file", path: "lib/x/ld.so", mode: 0o755, data: bytes("loader".repeat(200)) },
  { type: "dir", path: "tmp", mode: 0o1777 },
  { type: "dir", path: "var/lib/scone/", mode: 0o700, uid: 65532, gid: 65532 },
];

/** `tar -tv` through GNU tar: it checks every header checksum and refuses a malformed stream. */
function gnuList(archive: Uint8Array): string[] {
  const dir = mkdtempSync(join(tmpdir(), "scone-tar-"));
  try {
    const file = join(dir, "a.tar");
    writeFileSync(file, archive);
    const p = Bun.spawnSync(["tar", "--numeric-owner", "--full-time", "-tvf", file], {
      stdout: "pipe",
      stderr: "pipe",
      env: { TZ: "UTC", PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    expect(p.stderr.toString()).toBe("");
    expect(p.exitCode).toBe(0);
    return p.stdout
      .toString()
      .trim()
      .split("\n")
      .map((l) => l.replace(/\s+/g, " "));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("writeTar", () => {
  test("GNU tar lists every entry sorted, parents first, with numeric owners, modes and mtime 0", () => {
    expect(gnuList(writeTar(entries))).toEqual([
      "drwxr-xr-x 0/0 0 1970-01-01 00:00:00 lib/",
      "drwxr-xr-x 0/0 0 1970-01-01 00:00:00 lib/x/",
      "-rwxr-xr-x 0/0 1200 1970-01-01 00:00:00 lib/x/ld.so",
      "drwxr-xr-x 0/0 0 1970-01-01 00:00:00 lib64/",
      "lrwxrwxrwx 0/0 0 1970-01-01 00:00:00 lib64/ld.so -> /lib/x/ld.so",
      "-rwxr-xr-x 0/0 7 1970-01-01 00:00:00 scone",
      "drwxrwxrwt 0/0 0 1970-01-01 00:00:00 tmp/",
      "drwxr-xr-x 0/0 0 1970-01-01 00:00:00 var/",
      "drwxr-xr-x 0/0 0 1970-01-01 00:00:00 var/lib/",
      "drwx------ 65532/65532 0 1970-01-01 00:00:00 var/lib/scone/",
    ]);
  });

  test("file contents survive (read back by the snapshot reader), padded to 512-byte blocks", () => {
    const archive = writeTar(entries);
    expect(archive.length % 512).toBe(0);
    const files = readTar(archive);
    expect(files.map((f) => [f.name, new TextDecoder().decode(f.data)])).toEqual([
      ["lib/x/ld.so", "loader".repeat(200)],
      ["scone", "#binary"],
    ]);
  });

  test("the bytes depend on the entries, not on their order", () => {
    const a = writeTar(entries);
    const b = writeTar([...entries].reverse());
    expect(Bun.hash(b)).toBe(Bun.hash(a));
    const changed = writeTar([
      ...entries.slice(1),
      { type: "file", path: "scone", mode: 0o755, data: bytes("#other") },
    ]);
    expect(Bun.hash(changed)).not.toBe(Bun.hash(a));
  });

  test("a path longer than 100 bytes goes through the ustar prefix field", () => {
    const long = `${"d".repeat(80)}/${"e".repeat(60)}/file`;
    const listed = gnuList(writeTar([{ type: "file", path: long, mode: 0o644, data: bytes("x") }]));
    expect(listed.at(-1)).toBe(`-rw-r--r-- 0/0 1 1970-01-01 00:00:00 ${long}`);
  });

  test("bad input is refused with the path named", () => {
    expect(() => writeTar([{ type: "dir", path: "../etc", mode: 0o755 }])).toThrow('"../etc" is empty or escapes');
    expect(() =>
      writeTar([
        { type: "dir", path: "tmp", mode: 0o755 },
        { type: "dir", path: "/tmp/", mode: 0o1777 },
      ]),
    ).toThrow('"tmp" is given twice');
    expect(() =>
      writeTar([
        { type: "file", path: "a", mode: 0o644, data: bytes("") },
        { type: "file", path: "a/b", mode: 0o644, data: bytes("") },
      ]),
    ).toThrow('"a" is a parent of "a/b" but not a dir');
  });
});
