// The machine-wide side of the real node: one per machine (kube-proxy's iptables chains, the kubepods cgroups and
// the pod bridge are host-global), claimed through an owner file in RUNTIME_DIR, and the teardown that undoes it.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { BRIDGE, CLUSTER_POD_CIDR, NODE_IP, SIMULATED_POD_PREFIX } from "./addresses.ts";
import { KUBELET_LOG_LINKS, type NodeLayout, SHIM_SOCKET_DIR } from "./layout.ts";

export const TEARDOWN_SCRIPT = resolve(import.meta.dir, "teardown.sh");
/** Kernel settings kubelet sets at start (setupKernelTunables); the teardown puts back what was there before. */
const KUBELET_SYSCTLS = [
  "vm.overcommit_memory",
  "vm.panic_on_oom",
  "kernel.panic",
  "kernel.panic_on_oops",
  "kernel.keys.root_maxkeys",
  "kernel.keys.root_maxbytes",
];

/** The values teardown.sh reads. Paths are ours (mkdtemp, fixed names), refused if a shell quote could break out. */
export function teardownEnv(layout: NodeLayout, kubeProxy: string, sysctls: Record<string, string>): string {
  const vars: Record<string, string> = {
    NODE_DIR: layout.dir,
    RUNTIME_DIR: layout.runtimeDir,
    CONTAINERD_SOCKET: layout.containerdSocket,
    KUBE_PROXY: kubeProxy,
    NODE_IP,
    CLUSTER_POD_CIDR,
    SIMULATED_POD_PREFIX,
    BRIDGE,
    SHIM_SOCKET_DIR,
    LOG_LINKS: KUBELET_LOG_LINKS,
    SYSCTLS: Object.entries(sysctls)
      .map(([key, value]) => `${key}=${value}`)
      .join(" "),
  };
  return Object.entries(vars)
    .map(([name, value]) => {
      if (!/^[\w./:= -]*$/.test(value)) throw new Error(`${name}=${value}: unexpected character for the teardown`);
      return `${name}='${value}'\n`;
    })
    .join("");
}

async function readSysctls(): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const key of KUBELET_SYSCTLS) {
    const value = await readFile(`/proc/sys/${key.replaceAll(".", "/")}`, "utf8").catch(() => undefined);
    if (value !== undefined && /^\d+$/.test(value.trim())) values[key] = value.trim();
  }
  return values;
}

function run(argv: string[]): { code: number; stderr: string } {
  const result = spawnSync(argv[0] ?? "", argv.slice(1), { encoding: "utf8" });
  return { code: result.status ?? 1, stderr: (result.stderr ?? "").trim() };
}

/** Runs teardown.sh synchronously (also usable from exit handlers). */
export function runTeardown(envFile: string): void {
  if (existsSync(envFile)) run(["/bin/sh", TEARDOWN_SCRIPT, envFile]);
}

/**
 * Takes the machine for this cluster's node: writes the owner file (exclusively), the teardown variables and the
 * start marker, adds the node address to lo. A node whose cluster is gone (a run killed before its teardown) is
 * torn down first; a live one is refused with the way out.
 */
export async function claimHost(
  layout: NodeLayout,
  clusterDir: string,
  kubeProxy: string,
  isLive: (ownerDir: string) => Promise<boolean>,
): Promise<void> {
  await mkdir(layout.runtimeDir, { recursive: true, mode: 0o700 });
  for (let attempt = 1; ; attempt++) {
    try {
      await writeFile(layout.ownerFile, clusterDir, { flag: "wx", mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 3) throw error;
    }
    const owner = (await readFile(layout.ownerFile, "utf8").catch(() => "")).trim();
    if (owner && (await isLive(owner))) {
      throw new Error(
        `a real node of the cluster in ${owner} runs on this machine (one per machine): stop it first ` +
          `(SCONE_CLUSTER_DIR=${owner} make cluster-down, or end the test run that owns it)`,
      );
    }
    // Left behind by a run that was killed: its teardown (which also removes the owner file) frees the machine.
    runTeardown(join(owner, "node", "teardown.env"));
    runTeardown(layout.teardownEnv);
    await rm(layout.ownerFile, { force: true });
    await mkdir(layout.runtimeDir, { recursive: true, mode: 0o700 });
  }
  await mkdir(layout.dir, { recursive: true, mode: 0o700 });
  await writeFile(layout.teardownEnv, teardownEnv(layout, kubeProxy, await readSysctls()), { mode: 0o600 });
  await writeFile(join(layout.dir, "started"), "");
  const added = run(["ip", "addr", "add", `${NODE_IP}/32`, "dev", "lo"]);
  if (added.code !== 0 && !added.stderr.includes("File exists")) {
    throw new Error(`ip addr add ${NODE_IP}/32 dev lo failed: ${added.stderr} (the real node needs root)`);
  }
  // Pod addresses with no pod here (a KWOK pod's IP, not put on lo) would otherwise follow the default route out of
  // the machine, and a connection to one would wait for its timeout: unreachable answers at once and keeps them in.
  // The bridge's subnet and addresses on lo are more specific and still win.
  const unreachable = run(["ip", "route", "add", "unreachable", CLUSTER_POD_CIDR]);
  if (unreachable.code !== 0 && !unreachable.stderr.includes("File exists")) {
    throw new Error(`ip route add unreachable ${CLUSTER_POD_CIDR} failed: ${unreachable.stderr}`);
  }
}

/** Mount points at or below dir (from /proc/self/mountinfo; field 5 is the mount point). */
export function mountsUnder(dir: string): string[] {
  let text: string;
  try {
    text = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return [];
  }
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return text
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .filter((point) => point === dir || point.startsWith(prefix));
}
