// What the real node runs: hack/node-binaries.sh builds it once per version into the kube cache, beside the
// control plane; hack/node-deps.sh installs the Debian packages it needs (CNI plugins, busybox-static, ...).
import { access, constants } from "node:fs/promises";
import { join, resolve } from "node:path";
import { kubeCacheDir } from "../binaries.ts";

const HACK = resolve(import.meta.dir, "..", "..");
const CONTAINERD_VERSION = process.env.SCONE_CONTAINERD_VERSION ?? "2.4.2";
const RUNC_VERSION = process.env.SCONE_RUNC_VERSION ?? "1.5.3";
const COREDNS_VERSION = process.env.SCONE_COREDNS_VERSION ?? "1.14.7";
const CRANE_VERSION = process.env.SCONE_CRANE_VERSION ?? "0.22.1";

export interface NodeBinaries {
  readonly kubelet: string;
  readonly kubeProxy: string;
  readonly containerd: string;
  /** Directory of containerd-shim-runc-v2 (containerd finds its shim on PATH). */
  readonly containerdDir: string;
  readonly ctr: string;
  readonly runc: string;
  readonly coredns: string;
  readonly crane: string;
}

export function nodeBinaryPaths(k8sVersion: string, cache = kubeCacheDir()): NodeBinaries {
  const containerdDir = join(cache, `containerd-v${CONTAINERD_VERSION}`);
  return {
    kubelet: join(cache, `k8s-v${k8sVersion}`, "kubelet"),
    kubeProxy: join(cache, `k8s-v${k8sVersion}`, "kube-proxy"),
    containerd: join(containerdDir, "containerd"),
    containerdDir,
    ctr: join(containerdDir, "ctr"),
    runc: join(cache, `runc-v${RUNC_VERSION}`, "runc"),
    coredns: join(cache, `coredns-v${COREDNS_VERSION}`, "coredns"),
    crane: join(cache, `crane-v${CRANE_VERSION}`, "crane"),
  };
}

async function missing(paths: NodeBinaries): Promise<string[]> {
  const files = [
    paths.kubelet,
    paths.kubeProxy,
    paths.containerd,
    join(paths.containerdDir, "containerd-shim-runc-v2"),
    paths.ctr,
    paths.runc,
    paths.coredns,
    paths.crane,
  ];
  const executable = await Promise.all(
    files.map((file) =>
      access(file, constants.X_OK).then(
        () => true,
        () => false,
      ),
    ),
  );
  return files.filter((_, i) => !executable[i]);
}

async function runScript(script: string, args: string[]): Promise<void> {
  const child = Bun.spawn(["bash", join(HACK, script), ...args], { stdout: "ignore", stderr: "inherit" });
  const code = await child.exited;
  if (code !== 0) throw new Error(`hack/${script} ${args.join(" ")} failed with exit code ${code}`);
}

/** Debian packages first (seconds when present), then the binaries (minutes, once per machine and version). */
export async function ensureNodeBinaries(k8sVersion: string, log: (line: string) => void): Promise<NodeBinaries> {
  await runScript("node-deps.sh", []);
  const paths = nodeBinaryPaths(k8sVersion);
  const absent = await missing(paths);
  if (absent.length === 0) return paths;
  log(`building the real node's binaries (missing: ${absent.join(", ")}); this takes minutes once`);
  await runScript("node-binaries.sh", [k8sVersion]);
  const stillAbsent = await missing(paths);
  if (stillAbsent.length > 0) throw new Error(`hack/node-binaries.sh left out: ${stillAbsent.join(", ")}`);
  return paths;
}
