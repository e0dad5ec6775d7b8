// The image `make image` builds runs: the amd64 root filesystem, unpacked from the layout as a runtime would,
// runs `/scone version` as the non-root user under chroot (with /proc, as a container has): the binary finds its
// loader and libraries inside the image. No container runtime is needed. The arm64 one cannot run here without
// an emulator: its layer is checked for its aarch64 loader and libraries, and it runs under qemu-user (Debian's
// qemu-user-static, from PATH or downloaded) where that is at hand. Needs root (chroot, mount) and, on first
// use, Debian's mirror for the pinned libc6 (cached under ~/.cache/scone/image).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pkg from "../../package.json" with { type: "json" };

const ROOT = resolve(import.meta.dir, "../..");
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("image.test.ts skipped: chroot and mount need root");

const work = mkdtempSync(join(tmpdir(), "scone-image-run-"));
const layout = join(work, "oci");
const blob = (digest: string) => readFileSync(join(layout, "blobs", "sha256", digest.replace(/^sha256:/, "")));
const json = (digest: string) => JSON.parse(blob(digest).toString());
let digest = "";

interface Manifest {
  config: { digest: string };
  layers: { digest: string }[];
}
function manifestOf(arch: string): Manifest {
  const index = json(digest) as { manifests: { digest: string; platform: { architecture: string } }[] };
  const m = index.manifests.find((d) => d.platform.architecture === arch);
  if (!m) throw new Error(`no ${arch} manifest in the index`);
  return json(m.digest);
}

function unpack(arch: string): string {
  const rootfs = join(work, `rootfs-${arch}`);
  mkdirSync(rootfs);
  const layer = join(layout, "blobs", "sha256", manifestOf(arch).layers[0]?.digest.slice(7) ?? "");
  const p = Bun.spawnSync(["tar", "--numeric-owner", "-xzf", layer, "-C", rootfs], { stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`tar: ${p.stderr}`);
  return rootfs;
}

/** argv in rootfs as 65532:65532, in private mount and pid namespaces holding a fresh /proc. */
function runIn(rootfs: string, ...argv: string[]) {
  mkdirSync(join(rootfs, "proc"), { recursive: true }); // runtimes create the mount point the same way
  const p = Bun.spawnSync(
    [
      "unshare",
      "--mount",
      "--pid",
      "--fork",
      "--kill-child",
      "sh",
      "-c",
      'mount -t proc proc "$1/proc" && shift && exec chroot --userspec=65532:65532 "$@"',
      "sh",
      rootfs,
      rootfs,
      ...argv,
    ],
    { stdout: "pipe", stderr: "pipe", env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } },
  );
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

/** qemu-aarch64-static from PATH, else from Debian's qemu-user-static package unpacked into the work dir. */
function qemuAarch64(): string | undefined {
  const onPath = Bun.which("qemu-aarch64-static");
  if (onPath) return onPath;
  const dir = join(work, "qemu");
  mkdirSync(dir);
  const download = Bun.spawnSync(["apt-get", "-q", "-o", "APT::Sandbox::User=root", "download", "qemu-user-static"], {
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
  });
  const deb = readdirSync(dir).find((f) => f.endsWith(".deb"));
  if (download.exitCode !== 0 || !deb) return undefined;
  Bun.spawnSync(["dpkg-deb", "-x", join(dir, deb), join(dir, "root")]);
  const path = join(dir, "root/usr/bin/qemu-aarch64-static");
  return existsSync(path) ? path : undefined;
}

describe.skipIf(!isRoot)("scone's image, unpacked and run", () => {
  beforeAll(() => {
    const p = Bun.spawnSync([process.execPath, "run", join(ROOT, "hack/image/build-image.ts"), "--out", work], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
    });
    if (p.exitCode !== 0) throw new Error(`make image failed: ${p.stderr}\n${p.stdout}`);
    digest = p.stdout.toString().trim().split("\n").at(-1) ?? "";
  }, 300_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test("both platforms, each configured to run /scone as 65532:65532", () => {
    for (const arch of ["amd64", "arm64"]) {
      const config = json(manifestOf(arch).config.digest);
      expect(config.architecture).toBe(arch);
      expect(config.config.User).toBe("65532:65532");
      expect(config.config.Entrypoint).toEqual(["/scone"]);
    }
  });

  test("amd64: `/scone version` runs as the non-root user from the image's own libraries", () => {
    const rootfs = unpack("amd64");
    const r = runIn(rootfs, "/scone", "version");
    expect(r.stderr).toBe("");
    expect(r.stdout).toStartWith(`scone ${pkg.version} `);
    expect(r.code).toBe(0);
    expect(statSync(join(rootfs, "tmp")).mode & 0o7777).toBe(0o1777);
    // The same run without one library of the image fails: the libraries above came from the image.
    renameSync(join(rootfs, "lib/x86_64-linux-gnu/libm.so.6"), join(rootfs, "libm.so.6.away"));
    const broken = runIn(rootfs, "/scone", "version");
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toContain("libm.so.6");
  });

  test("arm64: the aarch64 loader and libraries, and no shell; `/scone version` runs under qemu-user", () => {
    const rootfs = unpack("arm64");
    const listing = Bun.spawnSync(["find", ".", "-type", "f", "-o", "-type", "l"], { cwd: rootfs, stdout: "pipe" })
      .stdout.toString()
      .trim()
      .split("\n")
      .sort();
    expect(listing).toEqual([
      "./etc/group",
      "./etc/passwd",
      "./lib/aarch64-linux-gnu/ld-linux-aarch64.so.1",
      "./lib/aarch64-linux-gnu/libc.so.6",
      "./lib/aarch64-linux-gnu/libdl.so.2",
      "./lib/aarch64-linux-gnu/libm.so.6",
      "./lib/aarch64-linux-gnu/libpthread.so.0",
      "./lib/ld-linux-aarch64.so.1",
      "./scone",
      "./usr/share/doc/libc6/copyright",
    ]);
    // The emulator goes into the rootfs (it is static) and runs the binary with the image's aarch64 loader.
    const qemu = qemuAarch64();
    if (!qemu) return console.warn("image.test.ts: no qemu-aarch64-static (nor Debian's mirror): arm64 not run");
    Bun.spawnSync(["cp", qemu, join(rootfs, "qemu")]);
    const r = runIn(rootfs, "/qemu", "/scone", "version");
    expect(r.stderr).toBe("");
    expect(r.stdout).toStartWith(`scone ${pkg.version} `);
  }, 60_000);
});
