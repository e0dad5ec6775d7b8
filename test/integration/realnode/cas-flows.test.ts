// The CAS flows of issue 13 (test/harness/cas-flows-walk.ts) through the sconecli pod on the real node: the stand-in
// sconecli image (hack/image/sconecli-image.ts) in the node's containerd under the name the pod source computes, one
// CLI pod per CAS pinned to the real node (`--cli-node-selector`; the operator's source the same), the CLI reaching
// each CAS by its Service — kube-proxy to the pod IP, where SimulatedPodBridge hands the connection to the simulator.
// Opt-in like every real-node test (SCONE_REAL_NODE=1, root); needs dist/scone.
import { expect } from "bun:test";
import type { V1Pod } from "@kubernetes/client-node";
import { cliPodSelector } from "../../../src/cas/driver/cli-pod.ts";
import { casDriverSource } from "../../../src/cas/driver/source.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import type { EncryptedPolicy } from "../../../src/resources/policies.ts";
import { describeCasFlows } from "../../harness/cas-flows-walk.ts";
import { clusterAvailable, realNodeCluster } from "../../harness/cluster.ts";
import { binaryPresent } from "../../harness/flows.ts";
import { realNodeTestsEnabled } from "../../harness/real-node-enabled.ts";
import { importSconecliImage } from "../../harness/real-node-operator.ts";
import { SimulatedPodBridge } from "../../harness/simulated-pod-bridge.ts";

if (realNodeTestsEnabled() && !binaryPresent) console.warn("cas-flows.test.ts skipped: no dist/scone (make build)");

describeCasFlows({
  title: "the CAS flows through the sconecli pod on the real node",
  via: "in the CAS's sconecli pod",
  enabled: clusterAvailable() && realNodeTestsEnabled() && binaryPresent,
  cluster: realNodeCluster,
  async reach(cluster, { admin, operatorClient, namespace, names, work, policyCli }) {
    const node = cluster.realNode;
    if (!node) throw new Error("realNodeCluster() returned a cluster without a real node");
    const nodeRef = { apiVersion: "v1", kind: "Node", name: node.name };
    // The CAS companions may run on any node: kept off the real node (they would pull from registry.scontain.com);
    // the CLI pods tolerate the cordon.
    await admin.patch(nodeRef, { spec: { unschedulable: true } }, "merge");
    const image = await importSconecliImage(node, work);
    const bridges = names.map((name) => new SimulatedPodBridge(admin, node, namespace, `${name}-0`));
    const onRealNode = ["--cli-node-selector", `kubernetes.io/hostname=${node.name}`];
    return {
      driverFlags: onRealNode,
      cliFlags: [],
      source: casDriverSource({
        kube: operatorClient,
        stateDir: `${work}/operator-state`,
        nodeSelector: { "kubernetes.io/hostname": node.name },
      }),
      verifiedBy: "SCONE CLI pod",
      async expectCliPods(name) {
        const pods = (
          await admin.list<V1Pod & KubeObject>(
            { apiVersion: "v1", kind: "Pod" },
            { namespace, labelSelector: cliPodSelector(name) },
          )
        ).items.filter((p) => p.metadata?.deletionTimestamp === undefined);
        expect(pods.map((p) => [p.spec?.nodeName, p.spec?.containers[0]?.image])).toEqual([[node.name, image]]);
      },
      // The CLI pod reached CAS at its pod IP (the Service), the only way into the simulated pod from the node.
      expectReached: () => expect(bridges[0]?.connections).toBeGreaterThan(0),
      // `scone policy encrypt --cas NAME`: `session encrypt --cas` the Service, in the CAS's CLI pod.
      encrypt: async (file, target) =>
        (await policyCli(["encrypt", file, "--cas", "cas", "--target", target])) as EncryptedPolicy,
      async stop() {
        for (const b of bridges) await b.stop().catch(() => undefined);
        await admin.patch(nodeRef, { spec: { unschedulable: null } }, "merge");
      },
    };
  },
});
