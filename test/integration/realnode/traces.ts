// What a real node leaves on the machine while it runs; after a stop (or the watchdog's teardown) none may remain.
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { BRIDGE, CLUSTER_POD_CIDR, NODE_IP, SIMULATED_POD_PREFIX } from "../../../hack/cluster/node/addresses.ts";
import { KUBELET_LOG_LINKS, RUNTIME_DIR } from "../../../hack/cluster/node/layout.ts";

function run(argv: string[]): string {
  const result = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return result.stdout.toString();
}

/** Processes whose command line names the cluster directory or the node's runtime directory. */
function processesOf(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let cmdline = "";
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
    } catch {
      continue; // exited meanwhile
    }
    if (Number(pid) !== process.pid && (cmdline.includes(dir) || cmdline.includes(`${RUNTIME_DIR}/`))) {
      found.push(`process ${pid}: ${cmdline.slice(0, 120)}`);
    }
  }
  return found;
}

/** Every leftover of the real node of the cluster in dir, described; empty when the machine is clean. */
export function hostTraces(dir: string): string[] {
  const traces: string[] = [];
  if (existsSync(dir)) traces.push(`cluster directory ${dir}`);
  if (existsSync(RUNTIME_DIR)) traces.push(`runtime directory ${RUNTIME_DIR}`);
  const lo = run(["ip", "-4", "addr", "show", "dev", "lo"]);
  if (lo.includes(`${NODE_IP}/32`)) traces.push(`${NODE_IP} on lo`);
  if (lo.includes(`inet ${SIMULATED_POD_PREFIX}`)) traces.push("a simulated pod's address on lo");
  if (run(["ip", "route", "show", CLUSTER_POD_CIDR]).includes("unreachable")) traces.push(`route ${CLUSTER_POD_CIDR}`);
  if (existsSync(`/sys/class/net/${BRIDGE}`)) traces.push(`bridge ${BRIDGE}`);
  for (const controller of readdirSync("/sys/fs/cgroup")) {
    if (existsSync(`/sys/fs/cgroup/${controller}/kubepods`)) traces.push(`cgroup ${controller}/kubepods`);
  }
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const point = line.split(" ")[4] ?? "";
    if (point.startsWith(`${dir}/`) || point.startsWith(`${RUNTIME_DIR}/`)) traces.push(`mount ${point}`);
  }
  if (run(["iptables-save"]).includes("KUBE-SERVICES")) traces.push("kube-proxy's iptables chains");
  if (existsSync(KUBELET_LOG_LINKS)) {
    for (const link of readdirSync(KUBELET_LOG_LINKS)) {
      try {
        if (readlinkSync(`${KUBELET_LOG_LINKS}/${link}`).startsWith(dir)) traces.push(`log link ${link}`);
      } catch {
        // not a link
      }
    }
  }
  traces.push(...processesOf(dir));
  return traces;
}
