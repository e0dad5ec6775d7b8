// OCI image archives without Docker: a root filesystem staged in a directory becomes one uncompressed layer, and
// each image is a config + manifest over it, in an OCI image layout packed as a tar (what `ctr images import` and
// `crane push` read). The busybox images come from Debian's busybox-static (hack/node-deps.sh installs it).
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface ImageSpec {
  /** Full reference, e.g. scone.local/busybox:1 (containerd's io.containerd.image.name). */
  readonly name: string;
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
}

interface Blob {
  readonly digest: string;
  readonly size: number;
}

const MEDIA = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar",
} as const;

const BUSYBOX = "/bin/busybox";
/** The applets tests and the pause container use; each a symlink to busybox. */
const APPLETS = ["sh", "sleep", "cat", "echo", "ls", "nslookup", "wget", "hostname", "ip", "env", "true", "nc"];

function sha256(data: Uint8Array): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(data).digest("hex")}`;
}

async function run(argv: string[]): Promise<void> {
  const child = Bun.spawn(argv, { stdout: "ignore", stderr: "pipe" });
  const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  if (code !== 0) throw new Error(`${argv.join(" ")} failed (${code}): ${stderr.trim()}`);
}

/** A tar of dir with fixed owners, times and order, so the same input gives the same digest. */
async function reproducibleTar(dir: string, out: string): Promise<void> {
  await run([
    "tar",
    "--create",
    `--file=${out}`,
    "--sort=name",
    "--mtime=@0",
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    `--directory=${dir}`,
    ".",
  ]);
}

async function addBlob(layoutDir: string, data: Uint8Array): Promise<Blob> {
  const digest = sha256(data);
  await writeFile(join(layoutDir, "blobs", "sha256", digest.slice("sha256:".length)), data);
  return { digest, size: data.byteLength };
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** writeBusyboxLayout packed as one tar: what `ctr images import` reads. */
export async function writeBusyboxArchive(
  archive: string,
  images: readonly ImageSpec[],
  workDir: string,
): Promise<void> {
  const work = await mkdtemp(join(workDir, "oci-archive-"));
  try {
    await writeBusyboxLayout(join(work, "layout"), images, work);
    await reproducibleTar(join(work, "layout"), archive);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Stages busybox with its applets under bin/ and writes the images over that one layer as an OCI image layout. */
export async function writeBusyboxLayout(
  layoutDir: string,
  images: readonly ImageSpec[],
  workDir: string,
): Promise<void> {
  if (!(await Bun.file(BUSYBOX).exists())) {
    throw new Error(`${BUSYBOX} is missing: run hack/node-deps.sh as root (Debian package busybox-static)`);
  }
  const work = await mkdtemp(join(workDir, "oci-"));
  try {
    const rootfs = join(work, "rootfs");
    await mkdir(join(rootfs, "bin"), { recursive: true });
    for (const dir of ["etc", "tmp", "proc", "sys", "dev"]) await mkdir(join(rootfs, dir));
    await copyFile(BUSYBOX, join(rootfs, "bin", "busybox"));
    for (const applet of APPLETS) await symlink("busybox", join(rootfs, "bin", applet));
    await mkdir(join(layoutDir, "blobs", "sha256"), { recursive: true });
    const layerTar = join(work, "layer.tar");
    await reproducibleTar(rootfs, layerTar);
    const layer = await addBlob(layoutDir, new Uint8Array(await readFile(layerTar)));
    const manifests = [];
    for (const image of images) {
      const config = await addBlob(
        layoutDir,
        json({
          architecture: "amd64",
          os: "linux",
          config: {
            Env: ["PATH=/bin"],
            // One config (image ID) per name: containerd's CRI image store lost a name whose ID another name shared.
            Labels: { "org.opencontainers.image.title": image.name },
            ...(image.entrypoint ? { Entrypoint: image.entrypoint } : {}),
            ...(image.cmd ? { Cmd: image.cmd } : {}),
          },
          rootfs: { type: "layers", diff_ids: [layer.digest] },
        }),
      );
      const manifest = await addBlob(
        layoutDir,
        json({
          schemaVersion: 2,
          mediaType: MEDIA.manifest,
          config: { mediaType: MEDIA.config, ...config },
          layers: [{ mediaType: MEDIA.layer, ...layer }],
        }),
      );
      const tag = image.name.slice(image.name.lastIndexOf(":") + 1);
      manifests.push({
        mediaType: MEDIA.manifest,
        ...manifest,
        annotations: { "io.containerd.image.name": image.name, "org.opencontainers.image.ref.name": tag },
      });
    }
    await writeFile(join(layoutDir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    await writeFile(
      join(layoutDir, "index.json"),
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests }),
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
