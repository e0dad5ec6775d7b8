// Taking over an upstream install on the real node (issue 12): an unpullable operator image is refused by the
// pull-check pod before anything of upstream is touched (same uids; the install names the image); a new operator
// that does not become Available is rolled back (upstream's objects re-created, running again); scone's image
// replaces upstream. Only a real node pulls and runs images: on KWOK nodes every pod "runs".
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { preboundBackupVolume } from "../../harness/backup-volume.ts";
import { clusterAvailable, type LocalCluster, type RealNodeHandle, realNodeCluster } from "../../harness/cluster.ts";
import { binaryPresent, type RunResult, removeInstall, scone } from "../../harness/flows.ts";
import { adminClient, freshNamespace, waitFor } from "../../harness/kube.ts";
import { realNodeTestsEnabled } from "../../harness/real-node-enabled.ts";
import { buildOperatorImage, realNodeInstallArgs } from "../../harness/real-node-operator.ts";
import {
  certManagerCrdNames,
  installCertManagerCrds,
  mutatingRef,
  refOf,
  upstreamObjects,
} from "./takeover-helpers.ts";

const TIMEOUT = 300_000;
const PULL_CHECK_LABELS = { "app.kubernetes.io/managed-by": "scone", "app.kubernetes.io/component": "pull-check" };
const enabled = clusterAvailable() && realNodeTestsEnabled() && binaryPresent;
if (realNodeTestsEnabled() && !binaryPresent) console.warn("takeover.test.ts skipped: no dist/scone (make build)");

type Conditions = { status?: { conditions?: { type?: string; status?: string }[] } };
type DeploymentView = KubeObject &
  Conditions & { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } };

describe.skipIf(!enabled)("taking over an upstream install on the real node", () => {
  let cluster: LocalCluster;
  let node: RealNodeHandle;
  let admin: KubeClient;
  let work: string;
  let sconeImage: string;
  const namespaces: string[] = [];

  beforeAll(async () => {
    cluster = await realNodeCluster();
    if (!cluster.realNode) throw new Error("realNodeCluster() returned a cluster without a real node");
    node = cluster.realNode;
    admin = await adminClient(cluster);
    work = await mkdtemp(join(tmpdir(), "scone-takeover-test-"));
    const built = await buildOperatorImage(join(work, "image"));
    await node.importArchive(built.archive);
    sconeImage = built.reference;
    await installCertManagerCrds(admin);
  }, 600_000);

  afterAll(async () => {
    if (admin) {
      for (const ns of namespaces) await removeInstall(admin, ns);
      for (const name of certManagerCrdNames) {
        await admin
          .deleteIfExists({ apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", name })
          .catch(() => false);
      }
    }
    if (work) await rm(work, { recursive: true, force: true });
  }, 120_000);

  /** A namespace holding an upstream install whose controller (busybox, sleeping) runs on the real node. */
  async function upstreamInstall(): Promise<{ ns: string; objects: KubeObject[] }> {
    const ns = await freshNamespace(admin, "takeover");
    namespaces.push(ns);
    const objects: KubeObject[] = [];
    for (const o of upstreamObjects(ns, node.name, node.busyboxImage)) objects.push(await admin.create(o));
    await available(ns);
    return { ns, objects };
  }

  async function available(ns: string): Promise<DeploymentView> {
    return waitFor(
      `Deployment ${ns}/scone-controller-manager to be Available`,
      async () => {
        const d = await admin.get<DeploymentView>({
          apiVersion: "apps/v1",
          kind: "Deployment",
          namespace: ns,
          name: "scone-controller-manager",
        });
        return d.status?.conditions?.some((c) => c.type === "Available" && c.status === "True") ? d : undefined;
      },
      120_000,
    );
  }

  async function install(ns: string, extra: readonly string[]): Promise<RunResult> {
    // No provisioner on the local cluster: the operator's backup claim binds to a volume made here.
    await preboundBackupVolume(admin, ns);
    return scone(
      [
        ...realNodeInstallArgs({ kubeconfig: cluster.kubeconfigPath, namespace: ns, node: node.name, wait: false }),
        ...extra,
      ],
      240_000,
    );
  }

  const uids = async (objects: readonly KubeObject[]) =>
    Promise.all(objects.map(async (o) => (await admin.tryGet(refOf(o)))?.metadata?.uid));

  async function noPullCheckPodLeft(ns: string): Promise<void> {
    await waitFor("the pull-check pod to be removed", async () => {
      const pods = await admin.list(
        { apiVersion: "v1", kind: "Pod" },
        { namespace: ns, labelSelector: "app.kubernetes.io/component=pull-check" },
      );
      return pods.items.length === 0;
    });
  }

  test(
    "an unpullable operator image: the install exits non-zero naming it, and upstream is left as it was",
    async () => {
      const { ns, objects } = await upstreamInstall();
      const before = await uids(objects);
      const image = `${node.registry}/does-not/exist:1`;
      const r = await install(ns, ["--operator-image", image, "--timeout", "90"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`the operator image ${image} cannot be pulled`);
      // The registry's (kubelet's) own words come along.
      expect(r.stderr).toMatch(/ErrImagePull|ImagePullBackOff/);
      expect(await uids(objects)).toEqual(before);
      const webhook = await admin.get(refOf(objects.at(-1) as KubeObject));
      expect(webhook.metadata?.annotations?.["cert-manager.io/inject-ca-from"]).toBe(`${ns}/scone-serving-cert`);
      expect(await admin.tryGet(mutatingRef(ns))).toBeUndefined();
      const d = await available(ns);
      expect(d.spec?.template?.spec?.containers?.map((c) => c.image)).toEqual([node.busyboxImage]);
      await noPullCheckPodLeft(ns);
    },
    TIMEOUT,
  );

  test(
    "an operator that never becomes Available (--no-pull-check): upstream is re-created and runs again, the install says so and exits non-zero",
    async () => {
      const { ns, objects } = await upstreamInstall();
      const before = await uids(objects);
      // busybox has no /scone: the Deployment's pod can never start.
      const r = await install(ns, ["--operator-image", node.busyboxImage, "--no-pull-check", "--timeout", "20"]);
      expect(r.code).not.toBe(0);
      expect(r.stdout).toContain(`skipped    the pull check of image ${node.busyboxImage} (--no-pull-check)`);
      expect(r.stderr).toContain(`the operator (${node.busyboxImage}) did not become Available`);
      expect(r.stderr).toContain("The previous operator was restored");
      expect(r.stderr).toContain(`re-created Deployment ${ns}/scone-controller-manager`);
      const after = await Promise.all(objects.map((o) => admin.tryGet(refOf(o))));
      // Every upstream object is there again; the deleted ones are new objects, the webhook configuration the same.
      expect(after.map((o) => o?.metadata?.name)).toEqual(objects.map((o) => o.metadata?.name));
      expect(after.map((o) => o?.metadata?.labels?.["app.kubernetes.io/managed-by"])).toEqual(
        objects.map((o) => o.metadata?.labels?.["app.kubernetes.io/managed-by"]),
      );
      const afterUids = after.map((o) => o?.metadata?.uid);
      expect(afterUids.slice(0, 5).every((uid, i) => uid !== before[i])).toBe(true);
      expect(afterUids[5]).toBe(before[5]);
      const secret = after[2] as KubeObject & { data?: Record<string, string> };
      expect(secret.data?.["tls.crt"]).toBe(btoa("upstream certificate"));
      const webhook = after[5] as KubeObject & { webhooks?: { clientConfig?: unknown }[] };
      expect(webhook.metadata?.annotations?.["cert-manager.io/inject-ca-from"]).toBe(`${ns}/scone-serving-cert`);
      expect(webhook.webhooks?.map((w) => w.clientConfig)).toEqual(
        (objects[5] as KubeObject & { webhooks?: { clientConfig?: unknown }[] }).webhooks?.map((w) => w.clientConfig),
      );
      // What the install created and upstream did not have is gone: nothing points at a pod that cannot start.
      expect(await admin.tryGet(mutatingRef(ns))).toBeUndefined();
      const d = await available(ns);
      expect(d.spec?.template?.spec?.containers?.map((c) => c.image)).toEqual([node.busyboxImage]);
      expect(d.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("Helm");
    },
    TIMEOUT,
  );

  test(
    "scone's image replaces upstream: pull check on the real node, cert-manager objects gone, the new operator Available",
    async () => {
      const { ns, objects } = await upstreamInstall();
      const before = await uids(objects);
      // What a killed install would leave: a completed pull-check pod. The next run removes it.
      await admin.create({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "scone-pull-check-leftover", namespace: ns, labels: PULL_CHECK_LABELS },
        spec: {
          restartPolicy: "Never",
          nodeSelector: { "kubernetes.io/hostname": node.name },
          containers: [{ name: "pull-check", image: node.busyboxImage, imagePullPolicy: "Never", command: ["true"] }],
        },
      } as KubeObject);
      const r = await install(ns, ["--timeout", "180"]);
      expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
      expect(r.stdout).toContain(`pulled     image ${sconeImage} (pull-check pod on node ${node.name})`);
      const [issuer, certificate, secret, configMap, deployment, webhook] = await Promise.all(
        objects.map((o) => admin.tryGet(refOf(o))),
      );
      expect(issuer).toBeUndefined();
      expect(certificate).toBeUndefined();
      expect(configMap).toBeUndefined();
      expect(secret?.metadata?.uid).not.toBe(before[2]);
      expect(deployment?.metadata?.uid).not.toBe(before[4]);
      expect(deployment?.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("scone");
      expect(webhook?.metadata?.annotations?.["cert-manager.io/inject-ca-from"]).toBeUndefined();
      const d = await available(ns);
      expect(d.spec?.template?.spec?.containers?.map((c) => c.image)).toEqual([sconeImage]);
      await noPullCheckPodLeft(ns);
    },
    TIMEOUT,
  );
});
