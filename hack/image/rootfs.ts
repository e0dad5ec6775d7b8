// What goes into the image: the binary at /scone, the dynamic loader and libraries its ELF headers name (found in
// an unpacked libc6 tree, followed through symlinks and their own DT_NEEDED), glibc's copyright notice, a
// two-line passwd/group for the non-root user, /tmp (1777) and the state directory. No shell, no package manager.
import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import type { Arch } from "./debs.ts";
import { readElfDeps } from "./elf.ts";
import { normalizeLayerPath, type TarEntry } from "./tar.ts";

/** The distroless "nonroot" user; the operator Deployment runs as the same (src/install/operator.ts). */
export const NONROOT = 65532;
export const BINARY_PATH = "/scone";
/** The operator's default --state-dir (STATE_DIR in src/install/operator.ts), writable by the user without a mount. */
const STATE_DIR = "/var/lib/scone";

const TRIPLET: Record<Arch, string> = { amd64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu" };

const text = (s: string) => new TextEncoder().encode(s);

/** Libraries of `binary` (for arch) from the libc tree at libcRoot, as layer entries, dependencies included. */
export function libraryEntries(arch: Arch, binary: Uint8Array, libcRoot: string): TarEntry[] {
  const deps = readElfDeps(binary);
  if (deps.machine !== arch) throw new Error(`the binary is for ${deps.machine}, not ${arch}`);
  const searchDirs = [`/lib/${TRIPLET[arch]}`, `/usr/lib/${TRIPLET[arch]}`, "/lib", "/usr/lib"];
  const entries = new Map<string, TarEntry>();

  const addPath = (imagePath: string, hops = 0): void => {
    const path = normalizeLayerPath(imagePath);
    if (entries.has(path)) return;
    if (hops > 8) throw new Error(`${imagePath}: too many symlinks in the libc tree`);
    const onDisk = join(libcRoot, path);
    const st = lstatSync(onDisk);
    if (st.isSymbolicLink()) {
      const target = readlinkSync(onDisk);
      entries.set(path, { type: "symlink", path, target });
      addPath(target.startsWith("/") ? target : posix.join(dirname(`/${path}`), target), hops + 1);
      return;
    }
    if (!st.isFile()) throw new Error(`${imagePath} in the libc tree is neither a file nor a symlink`);
    const data = readFileSync(onDisk);
    entries.set(path, { type: "file", path, mode: st.mode & 0o777, data });
    for (const soname of readElfDeps(data).needed) addSoname(soname, imagePath);
  };
  const addSoname = (soname: string, neededBy: string): void => {
    if (soname.includes("/")) throw new Error(`${neededBy} needs "${soname}", a path: not supported`);
    const dir = searchDirs.find((d) => {
      try {
        lstatSync(join(libcRoot, d, soname));
        return true;
      } catch {
        return false;
      }
    });
    if (!dir) throw new Error(`${neededBy} needs ${soname}, which libc6 does not ship: the image would not start`);
    addPath(`${dir}/${soname}`);
  };

  if (deps.interpreter) addPath(deps.interpreter);
  for (const soname of deps.needed) addSoname(soname, BINARY_PATH);
  return [...entries.values()];
}

/** Every entry of the image's single layer. */
export function rootfsEntries(arch: Arch, binary: Uint8Array, libcRoot: string): TarEntry[] {
  const copyright = "usr/share/doc/libc6/copyright";
  return [
    { type: "file", path: BINARY_PATH, mode: 0o755, data: binary },
    ...libraryEntries(arch, binary, libcRoot),
    // glibc is LGPL: its notice travels with its binaries.
    { type: "file", path: copyright, mode: 0o644, data: readFileSync(join(libcRoot, copyright)) },
    {
      type: "file",
      path: "etc/passwd",
      mode: 0o644,
      data: text(
        `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NONROOT}:${NONROOT}:nonroot:/nonexistent:/sbin/nologin\n`,
      ),
    },
    { type: "file", path: "etc/group", mode: 0o644, data: text(`root:x:0:\nnonroot:x:${NONROOT}:\n`) },
    { type: "dir", path: "tmp", mode: 0o1777 },
    { type: "dir", path: STATE_DIR, mode: 0o700, uid: NONROOT, gid: NONROOT },
  ];
}
