import { afterEach, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readTar } from "../../../src/backup/tar.ts";
import { cleanup, tempDir } from "../../harness/backup-fixtures.ts";

afterEach(cleanup);

async function tarOf(dir: string, names: string[], format: string): Promise<Uint8Array> {
  const child = Bun.spawn(["tar", `--format=${format}`, "-cf", "-", "-C", dir, ...names], { stdout: "pipe" });
  const out = new Uint8Array(await new Response(child.stdout).arrayBuffer());
  expect(await child.exited).toBe(0);
  return out;
}

describe("readTar", () => {
  for (const format of ["gnu", "ustar", "pax"]) {
    test(`reads the regular files of a ${format} archive written by tar, with their times`, async () => {
      const dir = tempDir("tar");
      const db = new Uint8Array(randomBytes(1500));
      writeFileSync(join(dir, "cas.db"), db);
      writeFileSync(join(dir, "cas.key-store"), "");
      // Longer than the 100-byte name field: ustar splits it into prefix/name, gnu and pax add an extra entry.
      const sub = `sub-${"d".repeat(80)}`;
      mkdirSync(join(dir, sub));
      const long = `${"n".repeat(40)}.bin`;
      writeFileSync(join(dir, sub, long), "long name");
      utimesSync(join(dir, "cas.db"), 1_700_000_000, 1_700_000_000);
      const entries = readTar(await tarOf(dir, ["cas.db", "cas.key-store", sub], format));
      expect(entries.map((e) => e.name)).toEqual(["cas.db", "cas.key-store", `${sub}/${long}`]);
      expect(entries[0]?.data).toEqual(db);
      expect(entries[0]?.mtime).toBe(1_700_000_000);
      expect(entries[1]?.data.byteLength).toBe(0);
      expect(new TextDecoder().decode(entries[2]?.data)).toBe("long name");
    });
  }

  test("a truncated archive or something else entirely is an error, not fewer files", async () => {
    const dir = tempDir("tar");
    writeFileSync(join(dir, "cas.db"), randomBytes(2000));
    const archive = await tarOf(dir, ["cas.db"], "gnu");
    expect(() => readTar(archive.subarray(0, 1024))).toThrow("tar: archive is truncated");
    expect(() => readTar(archive.subarray(0, 512 * 5))).toThrow("ends without its end-of-archive blocks");
    expect(() => readTar(new TextEncoder().encode("x".repeat(1024)))).toThrow("header at byte 0 has a wrong checksum");
  });
});
