// The stand-in `sconecli` image for the local cluster's real node: the simulator's SCONE CLI (sim/scone-cli,
// compiled with `bun build --compile`) at /opt/scone/bin/rust-cli, where the real image has it (SCONE-CLI.md §1),
// plus what the pod source execs (sh, mkdir, cat, env, rm, sleep, test, wc: busybox from Debian's busybox-static, which
// hack/node-deps.sh installs) and the loader and libraries the compiled CLI needs (from the machine's glibc, or
// --libc-root). One linux/amd64 layer, written by hack/image's own OCI writer.
//
//   bun run hack/image/sconecli-image.ts [--version 6.0.6] [--image-registry R] [--image-prefix P] [--out DIR]
// writes DIR/layout (an OCI image layout: `crane push DIR/layout R/Psconecli:V`) and DIR/sconecli.oci.tar
// (`ctr -n k8s.io images import`). The image name follows src/install/images.ts: <registry>/<prefix>sconecli:<version>.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CLI_BINARY } from "../../src/cas/driver/cli-pod.ts";
import { sconecliImage } from "../../src/cas/driver/source.ts";
import { DEFAULT_SCONE_SERVICE_VERSION } from "../../src/version.ts";
import { buildImageIndex, buildLayout, buildPlatformImage, type Layout, layoutArchive, writeLayout } from "./oci.ts";
import { libraryEntries } from "./rootfs.ts";
import type { TarEntry } from "./tar.ts";

/** The user the CLI pod runs as (src/cas/driver/cli-pod.ts: runAsUser 1000). */
const CLI_UID = 1000;
/** What PodCliRunner and the pod's start script exec, as busybox applets. */
export const SCONECLI_APPLETS = ["sh", "mkdir", "cat", "env", "rm", "sleep", "test", "[", "wc"] as const;
export const BUSYBOX = "/bin/busybox";
export const SIM_CLI = ".build/scone-cli-sim";
/**
 * How the stand-in CLI is compiled (the Makefile's sim-cli target uses the same flags): the driver starts it once per
 * call, so each command loads only its own chunk (--splitting, main.ts imports commands lazily) from precompiled
 * bytecode (--bytecode needs --format=esm): `--version` ≈36 ms → ≈6 ms (bench/README.md "Driver call").
 */
export const SIM_CLI_BUILD_FLAGS = ["--compile", "--splitting", "--bytecode", "--format=esm"] as const;

const text = (s: string) => new TextEncoder().encode(s);

/** Compiles the stand-in CLI when .build/scone-cli-sim is missing (`make sim-cli` builds the same file). */
export function ensureSimCli(path = SIM_CLI): Uint8Array {
  if (!existsSync(path)) {
    const p = Bun.spawnSync(
      [process.execPath, "build", ...SIM_CLI_BUILD_FLAGS, "sim/scone-cli/main.ts", "--outfile", path],
      {
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    if (p.exitCode !== 0) throw new Error(`bun build --compile sim/scone-cli/main.ts failed: ${p.stderr.toString()}`);
  }
  return new Uint8Array(readFileSync(path));
}

/** The layer's entries: the CLI, its libraries, busybox and its applets, /tmp, a passwd naming the CLI user. */
export function sconecliEntries(cli: Uint8Array, busybox: Uint8Array, libcRoot: string): TarEntry[] {
  return [
    { type: "dir", path: "opt/scone/bin", mode: 0o755 },
    { type: "file", path: CLI_BINARY, mode: 0o755, data: cli },
    ...libraryEntries("amd64", cli, libcRoot),
    { type: "file", path: "bin/busybox", mode: 0o755, data: busybox },
    ...SCONECLI_APPLETS.map((a): TarEntry => ({ type: "symlink", path: `bin/${a}`, target: "busybox" })),
    {
      type: "file",
      path: "etc/passwd",
      mode: 0o644,
      data: text(`root:x:0:0:root:/root:/sbin/nologin\nsconecli:x:${CLI_UID}:${CLI_UID}::/tmp:/bin/sh\n`),
    },
    { type: "file", path: "etc/group", mode: 0o644, data: text(`root:x:0:\nsconecli:x:${CLI_UID}:\n`) },
    { type: "dir", path: "tmp", mode: 0o1777 },
  ];
}

export function buildSconecliLayout(o: {
  readonly reference: string;
  readonly cli: Uint8Array;
  readonly busybox?: Uint8Array;
  readonly libcRoot?: string;
}): Layout {
  const busybox = o.busybox ?? new Uint8Array(readFileSync(BUSYBOX));
  const platform = { architecture: "amd64", os: "linux" } as const;
  const image = buildPlatformImage(platform, sconecliEntries(o.cli, busybox, o.libcRoot ?? "/"), {
    user: `${CLI_UID}:${CLI_UID}`,
    entrypoint: ["/bin/sh", "-c"],
    cmd: ["exec sleep 2147483647"],
    env: ["PATH=/opt/scone/bin:/bin", "HOME=/tmp"],
    // The name in the config too: each name is its own image ID. The kubelet keys its record of pulled images
    // (and the credentials they were pulled with) by image ID, so an image imported under one name must not share
    // it with the same bytes pulled under another (it would re-verify the import by pulling, from nowhere).
    labels: {
      "org.opencontainers.image.title": "sconecli (scone's stand-in SCONE CLI, sim/scone-cli)",
      "org.opencontainers.image.ref.name": o.reference,
    },
  });
  const index = buildImageIndex([{ platform, image }]);
  return buildLayout(index, [image.manifest, image.config, image.layer], o.reference);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      version: { type: "string", default: DEFAULT_SCONE_SERVICE_VERSION },
      "image-registry": { type: "string" },
      "image-prefix": { type: "string" },
      "libc-root": { type: "string", default: "/" },
      out: { type: "string", default: "dist/image/sconecli" },
    },
  });
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: run hack/node-deps.sh as root (busybox-static)`);
  const reference = sconecliImage(
    {
      ...(values["image-registry"] ? { imageRepo: values["image-registry"] } : {}),
      ...(values["image-prefix"] ? { imagePrefix: values["image-prefix"] } : {}),
    },
    values.version,
  );
  const layout = buildSconecliLayout({ reference, cli: ensureSimCli(), libcRoot: values["libc-root"] });
  mkdirSync(values.out, { recursive: true });
  writeLayout(join(values.out, "layout"), layout);
  writeFileSync(join(values.out, "sconecli.oci.tar"), layoutArchive(layout));
  console.log(`${reference} ${layout.digest}`);
}
