// Extra simulated nodes for tests that change the node set: leave the four harness nodes alone (other files share
// the cluster) and add, then delete, nodes of your own.
import type { SimulatedNodeSpec } from "../../hack/cluster/nodes.ts";
import type { LocalCluster } from "./cluster.ts";

export type { SimulatedNodeSpec };

/**
 * Creates a kwok-managed node shaped like the harness nodes and resolves once it is Ready and the node lifecycle
 * controller has lifted the not-ready taint it puts on a new node (until then the scheduler keeps pods off it).
 */
export async function addSimulatedNode(
  cluster: LocalCluster,
  spec: SimulatedNodeSpec,
  timeoutMs = 60_000,
): Promise<void> {
  const { nodeManifest } = await import("../../hack/cluster/nodes.ts");
  const created = await cluster.kubectl(["create", "-f", "-"], { stdin: JSON.stringify(nodeManifest(spec)) });
  if (created.code !== 0) throw new Error(`creating node ${spec.name}: ${created.stderr}`);
  const ready = await cluster.kubectl([
    "wait",
    "--for=condition=Ready",
    `node/${spec.name}`,
    `--timeout=${Math.ceil(timeoutMs / 1000)}s`,
  ]);
  if (ready.code !== 0) throw new Error(`node ${spec.name} did not become Ready: ${ready.stderr}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const taints = await cluster.kubectl(["get", "node", spec.name, "-o", "jsonpath={.spec.taints[*].key}"]);
    if (taints.code === 0 && !taints.stdout.includes("node.kubernetes.io/not-ready")) return;
    if (Date.now() > deadline) throw new Error(`node ${spec.name} kept its not-ready taint: ${taints.stdout}`);
    await Bun.sleep(200);
  }
}

export async function removeSimulatedNode(cluster: LocalCluster, name: string): Promise<void> {
  const deleted = await cluster.kubectl(["delete", "node", name, "--ignore-not-found", "--wait=false"]);
  if (deleted.code !== 0) throw new Error(`deleting node ${name}: ${deleted.stderr}`);
}
