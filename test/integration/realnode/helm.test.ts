// `helm install` of charts/scone-operator on the local cluster gives a Ready operator (issue 12): scone's image
// imported on the real node, the chart's nodeSelector pinning the pod there. The Deployment becomes Available with
// its pod running (a real container, not KWOK's simulated pod) on the real node, and the pod admits through its
// webhook Service; `helm uninstall` removes the Deployment and its pod. Opt-in like the rest of this directory.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Deployment } from "@kubernetes/client-node";
import { parse } from "yaml";
import { DEPLOYMENT_NAME } from "../../../src/install/names.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { preboundBackupVolume } from "../../harness/backup-volume.ts";
import { clusterAvailable, type LocalCluster, type RealNodeHandle, realNodeCluster } from "../../harness/cluster.ts";
import { binaryPresent, removeInstall } from "../../harness/flows.ts";
import { helmBinary, installArgs, run } from "../../harness/helm.ts";
import { adminClient, waitFor } from "../../harness/kube.ts";
import { cleanupSteps } from "../../harness/operator.ts";
import { realNodeTestsEnabled } from "../../harness/real-node-enabled.ts";
import { buildOperatorImage, readyOperatorPods } from "../../harness/real-node-operator.ts";
import { UPSTREAM_SAMPLES_DIR } from "../../harness/upstream-samples.ts";

const TIMEOUT = 300_000;
const enabled = clusterAvailable() && realNodeTestsEnabled() && binaryPresent;
if (realNodeTestsEnabled() && !binaryPresent) console.warn("helm.test.ts skipped: no dist/scone (make build)");

describe.skipIf(!enabled)("helm install of charts/scone-operator with the operator on the real node", () => {
  const suffix = Math.random().toString(36).slice(2, 7);
  const NS = `helm-real-${suffix}`;
  const RELEASE = `scone-${suffix}`;
  let cluster: LocalCluster;
  let node: RealNodeHandle;
  let admin: KubeClient;
  let helm = "";
  let work = "";
  let imageReference = "";

  const helmRun = (args: readonly string[]) =>
    run(helm, [...args, "--kubeconfig", cluster.kubeconfigPath, "--namespace", NS], 300_000);
  const deployment = () =>
    admin.tryGet<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", namespace: NS, name: DEPLOYMENT_NAME });

  beforeAll(async () => {
    helm = helmBinary();
    cluster = await realNodeCluster();
    if (!cluster.realNode) throw new Error("realNodeCluster() returned a cluster without a real node");
    node = cluster.realNode;
    admin = await adminClient(cluster);
    work = await mkdtemp(join(tmpdir(), "scone-helm-realnode-"));
    const image = await buildOperatorImage(join(work, "image"));
    imageReference = image.reference;
    await node.importArchive(image.archive);
  }, 1_800_000);

  afterAll(async () => {
    await cleanupSteps([
      () => helm && cluster && helmRun(["uninstall", RELEASE, "--wait", "--timeout", "2m"]),
      () => admin && removeInstall(admin, NS),
      () => work && rm(work, { recursive: true, force: true }),
    ]);
  }, 180_000);

  test(
    "install --wait: the Deployment is Available, its pod runs scone's image on the real node and is Ready",
    async () => {
      // No provisioner on the local cluster: the chart's backup claim binds to a volume made here.
      await preboundBackupVolume(admin, NS);
      const r = helmRun(
        installArgs(RELEASE, [
          "--set",
          `image.operator=${imageReference}`,
          // The image is imported on the node (IfNotPresent): no registry, hence no pull secret.
          "--set-json",
          "imagePullSecrets=[]",
          "--set-json",
          `nodeSelector=${JSON.stringify({ "kubernetes.io/hostname": node.name })}`,
        ]),
      );
      expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
      expect((await deployment())?.status?.availableReplicas).toBe(1);
      const [pod] = await readyOperatorPods(admin, NS, 1);
      expect(pod?.spec?.nodeName).toBe(node.name);
      expect(pod?.spec?.containers?.[0]?.image).toBe(imageReference);
      // A container the real kubelet started in containerd (KWOK's simulated pods have no container ID).
      expect(pod?.status?.containerStatuses?.[0]?.containerID).toStartWith("containerd://");
      // The binary answers in the pod, through the API server and the real kubelet.
      const version = await cluster.kubectl(["-n", NS, "exec", pod?.metadata?.name ?? "", "--", "/scone", "version"]);
      expect(version.stdout).toStartWith("scone ");
    },
    TIMEOUT,
  );

  test(
    "the running operator admits through its webhook Service (the webhooks fail closed: nothing else could)",
    async () => {
      const las = parse(readFileSync(join(UPSTREAM_SAMPLES_DIR, "operator-samples/base_v1beta1_las.yaml"), "utf8"));
      // kube-proxy routes the Service to the pod a moment after it turned Ready.
      const admitted = await waitFor("the webhook to answer through its Service", () =>
        admin
          .create<KubeObject & { spec?: { nodeSelector?: Record<string, string> } }>(las, { dryRun: true })
          .catch(() => undefined),
      );
      expect(admitted.spec?.nodeSelector).toEqual({ "sgx.intel.com/capable": "true" });
    },
    TIMEOUT,
  );

  test(
    "helm uninstall removes the Deployment and its pod",
    async () => {
      const r = helmRun(["uninstall", RELEASE, "--wait", "--timeout", "3m"]);
      expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
      expect(await deployment()).toBeUndefined();
      // Terminating ones included: the container on the node is stopped, not only marked for deletion.
      const gone = await waitFor("the operator pod to be gone", async () => {
        const pods = await admin.list(
          { apiVersion: "v1", kind: "Pod" },
          { namespace: NS, labelSelector: "control-plane=controller-manager" },
        );
        return pods.items.length === 0 ? true : undefined;
      });
      expect(gone).toBe(true);
    },
    TIMEOUT,
  );
});
