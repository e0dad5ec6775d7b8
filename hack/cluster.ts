// bun hack/cluster.ts up|down|status — the local development cluster (`make cluster`, `make cluster-down`).
// `up` leaves the control plane running after it exits and prints `KUBECONFIG=<absolute path>` as its last stdout
// line, so `eval $(make -s cluster | tail -1)` sets it. Progress goes to stderr.
// Directory: $SCONE_CLUSTER_DIR, default <repo>/.state/cluster. Version: $SCONE_K8S_VERSION (default 1.37.2).
// SCONE_REAL_NODE=1: also a real worker node (kubelet, containerd, kube-proxy, cluster DNS, registry); root only.
import { existsSync, readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { requestedK8sVersion, requestedRealNode } from "./cluster/binaries.ts";
import { ControlPlane } from "./cluster/control-plane.ts";
import { COMPONENTS } from "./cluster/layout.ts";
import { NODE_COMPONENTS } from "./cluster/node/layout.ts";
import { isRunning } from "./cluster/process.ts";

const REPO = resolve(import.meta.dir, "..");
const dir = resolve(process.env.SCONE_CLUSTER_DIR ?? join(REPO, ".state", "cluster"));
const say = (line: string) => console.error(`cluster: ${line}`);

/**
 * The last stdout line, exactly `KUBECONFIG=<absolute path>` (the documented contract, easy to parse). A shell where
 * KUBECONFIG is not exported yet needs `export KUBECONFIG` after the eval; stderr says so.
 */
function printKubeconfig(path: string): void {
  say("point kubectl at it: eval $(make -s cluster | tail -1); export KUBECONFIG");
  console.log(`KUBECONFIG=${path}`);
}

/** A directory we may delete: absent, empty, or laid out by this harness (a start that failed early). */
function isClusterDirOrEmpty(path: string): boolean {
  if (!existsSync(path)) return true;
  const entries = readdirSync(path);
  return entries.length === 0 || entries.includes("pki") || entries.includes("state.json");
}

async function up(): Promise<number> {
  const version = requestedK8sVersion();
  const realNode = requestedRealNode();
  const existing = await ControlPlane.attach(dir);
  if (existing) {
    const problems = await existing.problems();
    if (problems.length === 0) {
      if ((existing.realNode !== undefined) !== realNode) {
        say(
          `${dir} runs a cluster ${existing.realNode ? "with" : "without"} a real node: run \`make cluster-down\` ` +
            `first or set SCONE_CLUSTER_DIR to another directory`,
        );
        return 1;
      }
      if (existing.k8sVersion !== version) {
        say(
          `${dir} runs Kubernetes ${existing.k8sVersion}, not ${version}: run \`make cluster-down\` first ` +
            `or set SCONE_CLUSTER_DIR to another directory`,
        );
        return 1;
      }
      say(`reusing the running cluster at ${existing.server} (Kubernetes ${existing.k8sVersion})`);
      printKubeconfig(existing.kubeconfigPath);
      return 0;
    }
    say(`the cluster in ${dir} is unhealthy (${problems.join("; ")}): restarting what stopped`);
    const revived = await existing.revive().then(
      async () => (await existing.problems()).length === 0,
      (error: unknown) => {
        say(`could not restart it (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`);
        return false;
      },
    );
    if (revived && existing.k8sVersion === version) {
      say(`running again at ${existing.server} (Kubernetes ${existing.k8sVersion}), data kept`);
      printKubeconfig(existing.kubeconfigPath);
      return 0;
    }
    say("replacing it with a new cluster");
    await existing.stop();
  } else if (!isClusterDirOrEmpty(dir)) {
    say(`${dir} exists and is not a cluster directory; set SCONE_CLUSTER_DIR to a new or empty directory`);
    return 1;
  }
  await rm(dir, { recursive: true, force: true });
  say(`starting Kubernetes ${version} in ${dir}`);
  const began = performance.now();
  const cluster = await ControlPlane.start({ dir, k8sVersion: version, log: say, realNode });
  say(`started in ${((performance.now() - began) / 1000).toFixed(1)}s; logs: ${dir}/*.log; stop: make cluster-down`);
  printKubeconfig(cluster.kubeconfigPath);
  return 0;
}

async function down(): Promise<number> {
  const existing = await ControlPlane.attach(dir);
  if (existing) {
    await existing.stop();
    say(`stopped and removed ${dir}`);
  } else if (existsSync(dir) && isClusterDirOrEmpty(dir)) {
    await rm(dir, { recursive: true, force: true });
    say(`no running cluster; removed ${dir}`);
  } else {
    say(`no cluster in ${dir}`);
  }
  return 0;
}

async function status(): Promise<number> {
  const existing = await ControlPlane.attach(dir);
  if (!existing) {
    console.log(`no cluster in ${dir}`);
    return 1;
  }
  console.log(`server      ${existing.server}`);
  console.log(`kubernetes  ${existing.k8sVersion}`);
  console.log(`kubeconfig  ${existing.kubeconfigPath}`);
  const records = [
    ...COMPONENTS.map((name) => [name, existing.processes[name]] as const),
    ...NODE_COMPONENTS.filter(() => existing.realNode).map(
      (name) => [`${name} (node)`, existing.realNode?.state.processes[name]] as const,
    ),
  ];
  for (const [name, record] of records) {
    const state = record
      ? isRunning(record)
        ? `running (pid ${record.pid})`
        : `exited (pid ${record.pid})`
      : "absent";
    console.log(`${name.padEnd(24)}${state}`);
  }
  const problems = await existing.problems();
  console.log(problems.length === 0 ? "healthy" : `unhealthy: ${problems.join("; ")}`);
  return problems.length === 0 ? 0 : 1;
}

const commands: Record<string, () => Promise<number>> = { up, down, status };
const command = commands[process.argv[2] ?? ""];
if (!command) {
  console.error("usage: bun hack/cluster.ts up|down|status");
  process.exit(2);
}
try {
  process.exit(await command());
} catch (error) {
  say(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
