// Debian's libc6 for each image platform, pinned by version and sha256 so every machine builds the same image.
// Fetched with apt-get itself (signed Release files, the mirror the machine is configured with) into a private
// apt state under ~/.cache/scone/image, so the build machine's dpkg architectures and package lists stay
// untouched, then unpacked with dpkg-deb. Cached: later builds are offline.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export type Arch = "amd64" | "arm64";

/**
 * Debian 12 libc6 (the glibc Bun's linux targets link against). When the mirror drops this version after a
 * security update, `make image` says so: set the version apt-cache shows and the sha256 of the new .deb files.
 */
export const LIBC6 = {
  version: "2.36-9+deb12u14",
  sha256: {
    amd64: "ba4f88f73dbc3ae9055f3c20f4523bfdbaf1ad13ff95e258924f77d20b4fbedf",
    arm64: "01f4330719fd4f65580e16ea5a0527f372fca750e8f588d26deaf09f2d3b1cf4",
  },
} as const satisfies { version: string; sha256: Record<Arch, string> };

export const CACHE_DIR = process.env.SCONE_IMAGE_CACHE ?? join(homedir(), ".cache", "scone", "image");

function run(argv: string[], cwd?: string): string {
  const p = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) {
    throw new Error(`${argv.join(" ")} failed (exit ${p.exitCode}): ${p.stderr.toString().trim().slice(-2000)}`);
  }
  return p.stdout.toString();
}

function aptOptions(): string[] {
  const state = join(CACHE_DIR, "apt");
  mkdirSync(join(state, "lists", "partial"), { recursive: true });
  mkdirSync(join(state, "cache", "archives", "partial"), { recursive: true });
  return [
    "-q",
    "-o",
    `Dir::State::Lists=${join(state, "lists")}`,
    "-o",
    `Dir::Cache=${join(state, "cache")}`,
    "-o",
    "APT::Architectures::=amd64",
    "-o",
    "APT::Architectures::=arm64",
    // Files land in the cache dir, which the _apt sandbox user may not reach; apt would only warn and go on.
    "-o",
    "APT::Sandbox::User=root",
  ];
}

function fileSha256(path: string): string {
  return new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
}

const debPath = (arch: Arch) => join(CACHE_DIR, "debs", `libc6_${LIBC6.version.replace(/:/g, "%3a")}_${arch}.deb`);

/** Downloads the pinned libc6 .debs not yet cached, all in one apt-get run. */
function downloadDebs(arches: readonly Arch[]): void {
  const missing = arches.filter((a) => !existsSync(debPath(a)));
  if (missing.length === 0) return;
  const dir = join(CACHE_DIR, "debs");
  mkdirSync(dir, { recursive: true });
  const opts = aptOptions();
  try {
    run(["apt-get", ...opts, "update"]);
    try {
      run(["apt-get", ...opts, "download", ...missing.map((a) => `libc6:${a}=${LIBC6.version}`)], dir);
    } catch (e) {
      const policy = Bun.spawnSync(["apt-cache", ...opts, "policy", "libc6"]).stdout.toString();
      const candidate = /Candidate: (\S+)/.exec(policy)?.[1] ?? "unknown";
      throw new Error(
        `libc6 ${LIBC6.version} cannot be downloaded (the mirror offers ${candidate}): set LIBC6 in ` +
          `hack/image/debs.ts to that version and the new .deb sha256s\n${e instanceof Error ? e.message : e}`,
      );
    }
  } finally {
    // The package lists (~45 MB) only serve this download; a later pin change fetches them again.
    rmSync(join(CACHE_DIR, "apt"), { recursive: true, force: true });
  }
}

/** The pinned libc6 .deb for arch, checked against the pin. */
function libc6Deb(arch: Arch): string {
  downloadDebs([arch]);
  const path = debPath(arch);
  const want = LIBC6.sha256[arch];
  const got = fileSha256(path);
  if (want !== got) {
    rmSync(path, { force: true });
    throw new Error(`${path} has sha256 ${got}, not the pinned ${want} (hack/image/debs.ts): refusing it`);
  }
  return path;
}

/** Fetches what libc6Root will need for these arches in one go (one apt-get update, not one per arch). */
export function prefetchLibc6(arches: readonly Arch[]): void {
  downloadDebs(arches.filter((a) => !existsSync(join(CACHE_DIR, `libc6-${LIBC6.version}-${a}`, ".complete"))));
}

/** A directory holding libc6's files for arch (e.g. lib/aarch64-linux-gnu/libc.so.6), unpacked once. */
export function libc6Root(arch: Arch): string {
  const root = join(CACHE_DIR, `libc6-${LIBC6.version}-${arch}`);
  if (existsSync(join(root, ".complete"))) return root;
  const deb = libc6Deb(arch);
  const tmp = `${root}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  run(["dpkg-deb", "-x", deb, tmp]);
  if (readdirSync(tmp).length === 0) throw new Error(`dpkg-deb unpacked nothing from ${deb}`);
  writeFileSync(join(tmp, ".complete"), "");
  rmSync(root, { recursive: true, force: true });
  renameSync(tmp, root);
  return root;
}
