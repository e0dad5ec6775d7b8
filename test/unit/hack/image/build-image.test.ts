// `make image` is reproducible: two separate runs of the builder give the same index digest and byte-identical
// layouts and archives. A tiny binary (/bin/true) and the build machine's libc tree (--libc-root /) keep it fast;
// the full build is measured by bench/image.ts and run by test/integration/image.test.ts.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pkg from "../../../../package.json" with { type: "json" };

const BUILDER = resolve(import.meta.dir, "../../../../hack/image/build-image.ts");
const hostArch = process.arch === "arm64" ? "arm64" : "amd64";
const work = mkdtempSync(join(tmpdir(), "scone-image-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function build(out: string, binary = "/bin/true", ...extra: string[]) {
  const p = Bun.spawnSync(
    [
      process.execPath,
      "run",
      BUILDER,
      "--platforms",
      `linux/${hostArch}`,
      "--binary",
      `linux/${hostArch}=${binary}`,
      "--libc-root",
      "/",
      "--out",
      join(work, out),
      ...extra,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const stdout = p.stdout.toString();
  return { code: p.exitCode, stdout, stderr: p.stderr.toString(), digest: stdout.trim().split("\n").at(-1) ?? "" };
}

const tree = (dir: string): Record<string, string> =>
  Object.fromEntries(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => {
        const path = join(e.parentPath, e.name);
        return [path.slice(dir.length), new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex")];
      }),
  );

describe("the image builder", () => {
  test("two runs: the same digest, the same layout and archive bytes", () => {
    const a = build("a");
    const b = build("b");
    expect(`${a.code} ${a.stderr}`).toBe("0 ");
    expect(`${b.code} ${b.stderr}`).toBe("0 ");
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b.digest).toBe(a.digest);
    expect(tree(join(work, "b", "oci"))).toEqual(tree(join(work, "a", "oci")));
    const archive = `scone-${pkg.version}.oci.tar`;
    expect(Bun.hash(readFileSync(join(work, "b", archive)))).toBe(Bun.hash(readFileSync(join(work, "a", archive))));
    const index = JSON.parse(readFileSync(join(work, "a", "oci", "index.json"), "utf8"));
    expect(index.manifests[0].digest).toBe(a.digest);
  });

  test("another binary gives another digest; another registry the same content under another name", () => {
    const a = build("c");
    expect(build("d", "/bin/false").digest).not.toBe(a.digest);
    const mirrored = build("e", "/bin/true", "--image-registry", "mirror.local/x", "--image-prefix", "p-");
    expect(mirrored.digest).toBe(a.digest);
    const index = JSON.parse(readFileSync(join(work, "e", "oci", "index.json"), "utf8"));
    expect(index.manifests[0].annotations["io.containerd.image.name"]).toBe(`mirror.local/x/p-scone:${pkg.version}`);
  });

  test("bad flags name the flag and the fix", () => {
    const p = build("f", "/bin/true", "--platforms", "linux/s390x");
    expect(p.code).toBe(2);
    expect(p.stderr).toContain('--platforms: "linux/s390x" is not linux/amd64 or linux/arm64');
    const unknown = build("g", "/bin/true", "--registry", "x");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("build-image: Unknown option '--registry'");
  });
});
