// Which files the image gets: the loader and libraries the binary's ELF headers name, found in a libc tree and
// followed through symlinks, and a clear refusal when one is missing or the binary is for another platform.
// The build machine's own /bin/true and / stand in for scone and an unpacked libc6 (same layout: Debian).
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readElfDeps } from "../../../../hack/image/elf.ts";
import { libraryEntries, rootfsEntries } from "../../../../hack/image/rootfs.ts";

const trueBinary = readFileSync("/bin/true");
const hostArch = process.arch === "arm64" ? "arm64" : "amd64";
const loader = hostArch === "amd64" ? "/lib64/ld-linux-x86-64.so.2" : "/lib/ld-linux-aarch64.so.1";
const triplet = hostArch === "amd64" ? "x86_64-linux-gnu" : "aarch64-linux-gnu";
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("readElfDeps", () => {
  test("a dynamically linked executable: its interpreter, its needed sonames and its machine", () => {
    const deps = readElfDeps(trueBinary);
    expect(deps.interpreter).toBe(loader);
    expect(deps.needed).toContain("libc.so.6");
    expect(deps.machine).toBe(hostArch);
  });
  test("a library has no interpreter of its own but needs the loader", () => {
    const libc = readElfDeps(readFileSync(`/lib/${triplet}/libc.so.6`));
    expect(libc.needed.some((n) => n.startsWith("ld-linux"))).toBe(true);
  });
  test("not an ELF file: refused", () => {
    expect(() => readElfDeps(new TextEncoder().encode("#!/bin/sh\necho hi\n".repeat(10)))).toThrow("not an ELF file");
  });
});

describe("the image's files", () => {
  test("the loader (a symlink and its target), libc and what libc needs; nothing else", () => {
    const entries = libraryEntries(hostArch, trueBinary, "/");
    const byPath = new Map(entries.map((e) => [e.path, e]));
    expect(byPath.get(loader.slice(1))?.type).toBe(hostArch === "amd64" ? "symlink" : "file");
    const files = entries.filter((e) => e.type === "file").map((e) => e.path.split("/").pop());
    expect(files.sort()).toEqual([loader.split("/").pop(), "libc.so.6"].sort());
  });

  test("the whole layer: binary, passwd of the non-root user, /tmp 1777, the state dir, glibc's notice", () => {
    const entries = rootfsEntries(hostArch, trueBinary, "/");
    const find = (path: string) => entries.find((e) => e.path === path);
    expect(find("/scone")).toMatchObject({ type: "file", mode: 0o755 });
    expect(find("tmp")).toEqual({ type: "dir", path: "tmp", mode: 0o1777 });
    expect(find("/var/lib/scone")).toMatchObject({ type: "dir", mode: 0o700, uid: 65532, gid: 65532 });
    const passwd = find("etc/passwd");
    expect(passwd?.type === "file" && new TextDecoder().decode(passwd.data)).toContain(":65532:65532:");
    expect(find("usr/share/doc/libc6/copyright")?.type).toBe("file");
    expect(entries.some((e) => /(^|\/)(sh|bash|busybox)$/.test(e.path))).toBe(false);
  });

  test("a library the tree lacks is named, instead of an image that would not start", () => {
    const root = mkdtempSync(join(tmpdir(), "scone-libc-"));
    dirs.push(root);
    mkdirSync(join(root, "lib", triplet), { recursive: true });
    cpSync(`/lib/${triplet}/${loader.split("/").pop()}`, join(root, "lib", triplet, loader.split("/").pop() as string));
    mkdirSync(join(root, loader, ".."), { recursive: true });
    cpSync(loader, join(root, loader));
    expect(() => libraryEntries(hostArch, trueBinary, root)).toThrow(
      "/scone needs libc.so.6, which libc6 does not ship: the image would not start",
    );
  });

  test("a binary for another platform is refused", () => {
    const other = hostArch === "amd64" ? "arm64" : "amd64";
    expect(() => libraryEntries(other, trueBinary, "/")).toThrow(`the binary is for ${hostArch}, not ${other}`);
  });
});
