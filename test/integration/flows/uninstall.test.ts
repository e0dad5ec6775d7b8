// `scone operator uninstall` (the compiled binary) against the real API server, after a real `scone operator
// install --reconcile`: report mode lists the deletions and exits 3 without writing; a CAS makes --yes refuse before
// any write; --force removes webhooks, LAS/SGXPlugin, RBAC and keeps CRDs, the CAS, the namespace and its PVC;
// --crds --force then removes the CRDs (and the CAS with them) and still keeps the PVC and the namespace.
// KWOK runs no operator pod: install uses --local-operator with the webhooks served in this process.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject, ObjectRef } from "../../../src/kube/types.ts";
import type { RunningWebhooks } from "../../../src/operator/webhooks/run.ts";
import { sconeResourceTypes } from "../../../src/resources/crds.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import {
  binaryPresent,
  freePort,
  removeAllLasAndSgxPlugins,
  removeInstall,
  scone,
  serveWebhooks,
} from "../../harness/flows.ts";
import { cleanupSteps, installCrds } from "../../harness/operator.ts";

if (!binaryPresent) console.warn("uninstall.test.ts skipped: the compiled binary is missing — run 'make build' first");

const suffix = Math.random().toString(36).slice(2, 7);
const NS = `uninst-${suffix}`;
const ADMISSION = "admissionregistration.k8s.io/v1";
const RBAC = "rbac.authorization.k8s.io/v1";
const CRD = "apiextensions.k8s.io/v1";
const MUTATING: ObjectRef = {
  apiVersion: ADMISSION,
  kind: "MutatingWebhookConfiguration",
  name: `scone-mutating-webhook-configuration-${NS}`,
};
const VALIDATING: ObjectRef = {
  apiVersion: ADMISSION,
  kind: "ValidatingWebhookConfiguration",
  name: `scone-validating-webhook-configuration-${NS}`,
};
const CLUSTER_ROLE: ObjectRef = { apiVersion: RBAC, kind: "ClusterRole", name: `scone-manager-role-${NS}` };
const SA: ObjectRef = { apiVersion: "v1", kind: "ServiceAccount", namespace: NS, name: "scone-controller-manager" };
const LAS: ObjectRef = { apiVersion: "base.scone.cloud/v1beta1", kind: "LAS", name: "las" };
const CAS: ObjectRef = { apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", namespace: NS, name: "cas" };
const CAS_CRD: ObjectRef = { apiVersion: CRD, kind: "CustomResourceDefinition", name: "cas.services.scone.cloud" };
const PVC: ObjectRef = { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: NS, name: "database-cas-0" };
const NAMESPACE: ObjectRef = { apiVersion: "v1", kind: "Namespace", name: NS };

/** Removes the finalizers of every SCONE resource in the cluster. */
async function stripAllFinalizers(admin: KubeClient): Promise<void> {
  for (const type of sconeResourceTypes) {
    const list = await admin.list(type).catch(() => undefined);
    for (const o of list?.items ?? []) {
      if ((o.metadata?.finalizers ?? []).length === 0) continue;
      const ref = {
        ...type,
        name: o.metadata?.name ?? "",
        ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
      };
      await admin.patch(ref, { metadata: { finalizers: null } }, "merge").catch(() => undefined);
    }
  }
}

describe.skipIf(!binaryPresent || !clusterAvailable())(
  "scone operator uninstall (compiled) on a real API server",
  () => {
    let cluster: LocalCluster;
    let admin: KubeClient;
    let webhooks: RunningWebhooks | undefined;

    const uninstall = (extra: readonly string[]) =>
      scone(["operator", "uninstall", "--kubeconfig", cluster.kubeconfigPath, "-n", NS, "--timeout", "60", ...extra]);
    const exists = async (ref: ObjectRef) => (await admin.tryGet(ref)) !== undefined;

    beforeAll(async () => {
      cluster = await sharedCluster();
      admin = await KubeClient.load({ kubeconfig: cluster.kubeconfigPath });
      await removeAllLasAndSgxPlugins(admin);
      const port = await freePort();
      webhooks = await serveWebhooks(admin, NS, port, []);
      const r = await scone([
        ...`operator install -n ${NS} --reconcile --timeout 60 --no-image-signature-check --local-operator 127.0.0.1:${port}`.split(
          " ",
        ),
        ...["--kubeconfig", cluster.kubeconfigPath, "--username", "u", "--access-token", `t-${suffix}`],
        ...["--email", "u@example.com"],
      ]);
      expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
      // A CAS (no controller runs here: no finalizer) and the claim a CAS database would have.
      await admin.create({ ...CAS, metadata: { name: CAS.name, namespace: NS }, spec: {} } as unknown as KubeObject);
      await admin.create({
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: PVC.name, namespace: NS },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      } as KubeObject);
    }, 300_000);

    afterAll(async () => {
      await cleanupSteps([
        () => webhooks?.stop(),
        () => admin && removeInstall(admin, NS),
        // --crds removed the CRDs of the shared cluster: later files expect them.
        () => admin && installCrds(admin),
      ]);
    }, 120_000);

    test("report mode lists the deletions, says --yes would refuse, exits 3 and deletes nothing", async () => {
      const r = await uninstall([]);
      expect(r.code).toBe(3);
      expect(r.stdout).toMatch(new RegExp(`^delete +MutatingWebhookConfiguration ${MUTATING.name}$`, "m"));
      expect(r.stdout).toMatch(/^delete +LAS las$/m);
      expect(r.stdout).toMatch(/^kept +.*PersistentVolumeClaim/m);
      expect(r.stderr).toContain("would refuse");
      expect(r.stderr).toContain(`CAS ${NS}/cas`);
      for (const ref of [MUTATING, VALIDATING, CLUSTER_ROLE, SA, LAS]) expect(await exists(ref)).toBe(true);
      // -o json: the same plan, the resources that block and what is kept.
      const json = await uninstall(["-o", "json"]);
      expect(json.code).toBe(3);
      const o = JSON.parse(json.stdout) as { steps: { action: string; kind: string }[]; kept: string[] };
      expect(o).toMatchObject({ mode: "report", refused: true });
      expect((o as unknown as { blockers: unknown[] }).blockers).toContainEqual({
        kind: "CAS",
        name: "cas",
        namespace: NS,
      });
      expect(o.steps.filter((s) => s.action === "delete").map((s) => s.kind)).toContain("ClusterRoleBinding");
      expect(o.kept.join(" ")).toContain("PersistentVolumeClaim");
    });

    test("--yes refuses while a CAS exists, before deleting anything", async () => {
      const r = await uninstall(["--yes"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`CAS ${NS}/cas`);
      expect(r.stderr).toContain("--force");
      for (const ref of [MUTATING, VALIDATING, CLUSTER_ROLE, SA, LAS]) expect(await exists(ref)).toBe(true);
    });

    test("--yes --force removes webhooks, LAS/SGXPlugin and RBAC; keeps CRDs, the CAS, namespace and PVC", async () => {
      // The local operator stops first, as a user would: while it runs it re-issues its webhook-server-cert.
      await webhooks?.stop();
      webhooks = undefined;
      const r = await uninstall(["--yes", "--force"]);
      expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
      const lines = r.stdout.split("\n").filter((l) => l.startsWith("deleted"));
      expect(lines[0]).toContain("WebhookConfiguration");
      expect(lines[1]).toContain("WebhookConfiguration");
      for (const ref of [MUTATING, VALIDATING, CLUSTER_ROLE, SA, LAS]) expect(await exists(ref)).toBe(false);
      for (const ref of [CAS_CRD, CAS, NAMESPACE, PVC]) expect(await exists(ref)).toBe(true);
      // Nothing left: report mode exits 0.
      const again = await uninstall([]);
      expect(`${again.code}\n${again.stdout}`).toMatch(/^0\n[\s\S]*nothing to remove/);
    });

    test("--crds --force deletes the CRDs and the CAS with them; the PVC and the namespace stay", async () => {
      const refused = await uninstall(["--yes", "--crds"]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("deletes every CAS");
      expect(await exists(CAS_CRD)).toBe(true);
      // No operator runs here: finalizers that files before this one left on their resources would hold the CRDs.
      await stripAllFinalizers(admin);
      const r = await uninstall(["--yes", "--crds", "--force"]);
      expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
      expect(r.stdout).toMatch(/^deleted +CustomResourceDefinition cas\.services\.scone\.cloud/m);
      expect(await exists(CAS_CRD)).toBe(false);
      for (const ref of [NAMESPACE, PVC]) expect(await exists(ref)).toBe(true);
    });
  },
);
