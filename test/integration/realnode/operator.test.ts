// The operator as it runs in production, on the real node (issue 12): `scone operator install --reconcile` by the
// compiled binary, scone's own image from the OCI archive and, separately, from the local registry (--image-registry).
// The pod uses the in-cluster configuration; the API server calls its webhooks through the Service; upstream's LAS
// and SGXPlugin samples turn HEALTHY on the KWOK nodes under it; with two replicas the lease passes on a deleted pod
// (released) and on a SIGKILLed one (expired). Opt-in like the rest of this directory (`make test-realnode`).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { FIRST_SERVICE_IP } from "../../../hack/cluster/components.ts";
import { startCasPodRuntime } from "../../../sim/kwok-cas/runtime.ts";
import { cliPodSelector } from "../../../src/cas/driver/cli-pod.ts";
import {
  CAS_DRIVER_ROLE_BINDING_NAME,
  CAS_DRIVER_ROLE_NAME,
  DEPLOYMENT_NAME,
  installClusterName,
  mutatingWebhookConfigurationName,
  NAMESPACE_ROLE_BINDING_NAME,
  NAMESPACE_ROLE_NAME,
  SERVICE_ACCOUNT_NAME,
  WEBHOOK_SERVICE_NAME,
} from "../../../src/install/names.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { LEADER_ELECTION_LEASE } from "../../../src/operator/run.ts";
import type { CAS } from "../../../src/resources/cas.ts";
import { preboundBackupVolume } from "../../harness/backup-volume.ts";
import { clusterAvailable, type LocalCluster, type RealNodeHandle, realNodeCluster } from "../../harness/cluster.ts";
import { casClaims, cleanNodes, prepareCasNodesAndVolumes, startBackupControllerPlayer } from "../../harness/day2.ts";
import { binaryPresent, removeAllLasAndSgxPlugins, removeInstall, scone } from "../../harness/flows.ts";
import { adminClient, waitFor } from "../../harness/kube.ts";
import { realNodeTestsEnabled } from "../../harness/real-node-enabled.ts";
import {
  buildOperatorImage,
  importSconecliImage,
  LeaseRecorder,
  type OperatorImage,
  type PodView,
  podOfHolder,
  readyOperatorPods,
  realNodeInstallArgs,
} from "../../harness/real-node-operator.ts";
import { SimulatedPodBridge } from "../../harness/simulated-pod-bridge.ts";
import { UPSTREAM_SAMPLES_DIR } from "../../harness/upstream-samples.ts";

const TIMEOUT = 300_000;
const SAMPLES = join(UPSTREAM_SAMPLES_DIR, "operator-samples");
const BASE = "base.scone.cloud/v1beta1";

function sample(file: string): KubeObject {
  return parse(readFileSync(join(SAMPLES, file), "utf8")) as KubeObject;
}

interface WebhookConfigView extends KubeObject {
  webhooks?: { clientConfig?: { url?: string; service?: { name?: string; namespace?: string }; caBundle?: string } }[];
}

interface AgentView extends KubeObject {
  spec?: { nodeSelector?: Record<string, string>; hostPort?: number; image?: string };
  status?: { state?: string };
}

const enabled = clusterAvailable() && realNodeTestsEnabled() && binaryPresent && existsSync(SAMPLES);
if (realNodeTestsEnabled() && !binaryPresent) console.warn("operator.test.ts skipped: no dist/scone (make build)");

describe.skipIf(!enabled)("the operator in pods on the real node", () => {
  let cluster: LocalCluster;
  let node: RealNodeHandle;
  let admin: KubeClient;
  let work: string;
  let image: OperatorImage;

  beforeAll(async () => {
    cluster = await realNodeCluster();
    if (!cluster.realNode) throw new Error("realNodeCluster() returned a cluster without a real node");
    node = cluster.realNode;
    admin = await adminClient(cluster);
    work = await mkdtemp(join(tmpdir(), "scone-incluster-test-"));
    image = await buildOperatorImage(join(work, "image"));
  }, 600_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** `scone operator install --reconcile` by the compiled binary, the operator pods pinned to the real node. */
  async function install(namespace: string, extra: string[]): Promise<void> {
    // No provisioner on the local cluster: the operator's backup claim binds to a volume made here.
    await preboundBackupVolume(admin, namespace);
    const result = await scone(
      [...realNodeInstallArgs({ kubeconfig: cluster.kubeconfigPath, namespace, node: node.name }), ...extra],
      240_000,
    );
    if (result.code !== 0) throw new Error(`install exited ${result.code}: ${result.stderr}\n${result.stdout}`);
    // --wait ends once the Deployment is Available; kube-proxy routes the webhook Service to the pod a moment later
    // (until then the API server's call is refused). The steps after this one write objects the webhooks admit.
    await waitFor("the webhooks to answer through their Service", () => admittedLas().catch(() => undefined));
  }

  /** The LAS sample through the API server with dryRun=All: only the mutating webhook can have changed it. */
  async function admittedLas(): Promise<AgentView> {
    return admin.create<AgentView>(sample("base_v1beta1_las.yaml") as AgentView, { dryRun: true });
  }

  /** The image config digest in the layout: containerd reports it as the imageID of an imported image. */
  async function configDigest(): Promise<string> {
    const blob = (digest: string) => Bun.file(join(image.layout, "blobs", "sha256", digest.slice(7))).json();
    const layoutIndex = (await Bun.file(join(image.layout, "index.json")).json()) as {
      manifests: { digest: string }[];
    };
    const index = (await blob(layoutIndex.manifests[0]?.digest ?? "")) as { manifests: { digest: string }[] };
    const manifest = (await blob(index.manifests[0]?.digest ?? "")) as { config: { digest: string } };
    return manifest.config.digest;
  }

  describe("installed from the OCI archive", () => {
    // The upstream samples place the LAS and plugin pods in scone-system: the operator's default namespace.
    const ns = "scone-system";

    afterAll(async () => {
      if (!admin) return;
      // While the operator still runs, it removes its finalizers itself; whatever is left is forced.
      for (const kind of ["LAS", "SGXPlugin"]) {
        const name = kind === "LAS" ? "las" : "sgxplugin";
        await admin.deleteIfExists({ apiVersion: BASE, kind, name }).catch(() => false);
      }
      await removeAllLasAndSgxPlugins(admin).catch(() => undefined);
      await removeInstall(admin, ns);
    }, 120_000);

    test(
      "install --reconcile: the pod runs scone's image on the real node, becomes Ready, on the in-cluster configuration",
      async () => {
        await node.importArchive(image.archive);
        await install(ns, []);
        const [pod] = await readyOperatorPods(admin, ns, 1);
        expect(pod?.spec?.nodeName).toBe(node.name);
        // The install's default image, found in containerd as imported (imagePullPolicy IfNotPresent, no registry).
        expect(pod?.spec?.containers?.[0]?.image).toBe(image.reference);
        expect(pod?.status?.containerStatuses?.[0]?.imageID).toBe(await configDigest());
        // Exec reaches the binary through the API server and the real kubelet.
        const version = await cluster.kubectl(["-n", ns, "exec", pod?.metadata?.name ?? "", "--", "/scone", "version"]);
        expect(version.stdout).toStartWith("scone ");
        // In-cluster configuration: the `kubernetes` Service address from KUBERNETES_SERVICE_HOST, and the identity
        // of the mounted ServiceAccount token.
        const logs = await admin.podLogs({ namespace: ns, name: pod?.metadata?.name ?? "" });
        const connected = logs
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as { msg?: string; server?: string; user?: string })
          .find((l) => l.msg === "connected to the API server");
        expect(connected).toMatchObject({
          server: `https://${FIRST_SERVICE_IP}:443`,
          user: `system:serviceaccount:${ns}:scone-controller-manager`,
        });
      },
      TIMEOUT,
    );

    test(
      "the API server calls its webhooks through the Service (service mode), which leads to the pod",
      async () => {
        const config = await admin.get<WebhookConfigView>({
          apiVersion: "admissionregistration.k8s.io/v1",
          kind: "MutatingWebhookConfiguration",
          name: mutatingWebhookConfigurationName(ns),
        });
        expect(config.webhooks?.length).toBeGreaterThan(0);
        for (const webhook of config.webhooks ?? []) {
          expect(webhook.clientConfig?.url).toBeUndefined();
          expect(webhook.clientConfig?.service).toMatchObject({ name: WEBHOOK_SERVICE_NAME, namespace: ns });
        }
        // The operator set its CA once it served; the webhooks fail closed (failurePolicy Fail), so an admitted
        // object was admitted by the pod. The sample has no node selector and no host port: the webhook adds both.
        await waitFor("the webhook CA bundle", async () => {
          const c = await admin.get<WebhookConfigView>({
            apiVersion: "admissionregistration.k8s.io/v1",
            kind: "MutatingWebhookConfiguration",
            name: mutatingWebhookConfigurationName(ns),
          });
          return (c.webhooks ?? []).every((w) => (w.clientConfig?.caBundle ?? "") !== "");
        });
        const admitted = await admittedLas();
        expect(admitted.spec?.nodeSelector).toEqual({ "sgx.intel.com/capable": "true" });
        expect(admitted.spec?.hostPort).toBeGreaterThan(0);
      },
      TIMEOUT,
    );

    test(
      "upstream's LAS and SGXPlugin samples turn HEALTHY on the KWOK nodes under the in-cluster operator",
      async () => {
        await admin.create(sample("base_v1beta1_las.yaml"));
        // The plugin sample selects every node; kept to the SGX nodes here so the real node does not try to pull
        // registry.scontain.com (nothing leaves this machine). The plugin's health counts SGX nodes only anyway.
        const plugin = sample("base_v1beta1_sgxplugin.yaml") as AgentView;
        await admin.create({ ...plugin, spec: { ...plugin.spec, nodeSelector: { "sgx.intel.com/capable": "true" } } });
        for (const [kind, name] of [
          ["LAS", "las"],
          ["SGXPlugin", "sgxplugin"],
        ] as const) {
          const state = await waitFor(
            `${kind} ${name} HEALTHY`,
            async () => {
              const o = await admin.get<AgentView>({ apiVersion: BASE, kind, name });
              return o.status?.state === "HEALTHY" ? o.status.state : undefined;
            },
            120_000,
          );
          expect(state).toBe("HEALTHY");
        }
        const daemonSets = await admin.list({ apiVersion: "apps/v1", kind: "DaemonSet" }, { namespace: ns });
        expect(daemonSets.items.map((d) => d.metadata?.name).sort()).toEqual(["las", "sgxplugin"]);
      },
      TIMEOUT,
    );

    test(
      "a CAS on the KWOK nodes, provisioned with `scone cas provision --wait`, turns HEALTHY under the in-cluster operator",
      async () => {
        const casNs = `scone-cas-${Math.random().toString(36).slice(2, 8)}`;
        const name = "cas";
        const casRef = { apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", namespace: casNs, name };
        const nodeRef = { apiVersion: "v1", kind: "Node", name: node.name };
        const step = (p: Promise<unknown> | undefined) => Promise.resolve(p).catch(() => undefined);
        await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: casNs } });
        // The CAS companions (safety service) may run on any node: kept off the real node, which would try to pull
        // them from registry.scontain.com (nothing leaves this machine). The operator pod keeps running there.
        await admin.patch(nodeRef, { spec: { unschedulable: true } }, "merge");
        const runtime = await startCasPodRuntime({
          kubeconfig: cluster.kubeconfigPath,
          stateDir: join(work, "kwok-cas"),
          log: () => {},
        });
        // The in-cluster operator reaches CAS through its Service, i.e. at the pod IP: the simulator answers there.
        const bridge = new SimulatedPodBridge(admin, node, casNs, `${name}-0`);
        const player = startBackupControllerPlayer(admin, casNs, name);
        try {
          await waitFor(`serviceaccount ${casNs}/default`, () =>
            admin.tryGet({ apiVersion: "v1", kind: "ServiceAccount", namespace: casNs, name: "default" }),
          );
          await prepareCasNodesAndVolumes(admin, casNs, [name]);
          // The tenant's opt-in (docs/RBAC.md): the operator may exec into the CAS's sconecli pod and keep its
          // identity Secret there only in namespaces that grant it.
          for (const [binding, role] of [
            [CAS_DRIVER_ROLE_BINDING_NAME, CAS_DRIVER_ROLE_NAME],
            [NAMESPACE_ROLE_BINDING_NAME, NAMESPACE_ROLE_NAME],
          ] as const)
            await admin.create({
              apiVersion: "rbac.authorization.k8s.io/v1",
              kind: "RoleBinding",
              metadata: { name: binding, namespace: casNs },
              roleRef: {
                apiGroup: "rbac.authorization.k8s.io",
                kind: "ClusterRole",
                name: installClusterName(role, ns),
              },
              subjects: [{ kind: "ServiceAccount", name: SERVICE_ACCOUNT_NAME, namespace: ns }],
            } as KubeObject);
          // Every CAS call of the provisioner and the operator runs the stand-in CLI in the CAS's sconecli pod.
          const cliImage = await importSconecliImage(node, work);
          const provision = await scone(
            [
              "cas",
              "provision",
              name,
              "-n",
              casNs,
              "--kubeconfig",
              cluster.kubeconfigPath,
              "--state-dir",
              join(work, "cli-state"),
              "--target",
              join(work, "cas-home"),
              "--dcap-api",
              "0123456789abcdef0123456789abcdef",
              "--wait",
              // KWOK would "run" the CLI pod without running anything (the operator's go there too: install
              // gave it --cli-node-selector from --operator-node-selector).
              "--cli-node-selector",
              `kubernetes.io/hostname=${node.name}`,
            ],
            280_000,
          );
          if (provision.code !== 0) {
            const status = (await admin.tryGet<CAS>(casRef))?.status;
            throw new Error(
              `provision exited ${provision.code}: ${provision.stderr}\nCAS status: ${JSON.stringify(status)}`,
            );
          }
          const cas = await waitFor(
            "CAS HEALTHY",
            async () => {
              const c = await admin.get<CAS>(casRef);
              return c.status?.phase === "HEALTHY" ? c : undefined;
            },
            120_000,
          );
          expect(cas.status?.provisioned).toBe("Yes");
          // The CAS's calls went through its one sconecli pod, on the real node, of the stand-in image.
          const cliPods = await admin.list<PodView>(
            { apiVersion: "v1", kind: "Pod" },
            { namespace: casNs, labelSelector: cliPodSelector(name) },
          );
          expect(cliPods.items.map((p) => [p.spec?.nodeName, p.spec?.containers?.[0]?.image])).toEqual([
            [node.name, cliImage],
          ]);
          // The operator's probes came in at the pod IP.
          expect(bridge.connections).toBeGreaterThan(0);
        } finally {
          await step(player.stop());
          await step(bridge.stop());
          await step(runtime.stop());
          await step(admin.patch(nodeRef, { spec: { unschedulable: null } }, "merge"));
          await step(cleanNodes(admin, casNs, [name]));
          await step(admin.patch(casRef, { metadata: { finalizers: null } }, "merge"));
          await step(admin.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: casNs }));
          for (const claim of casClaims(name))
            await step(admin.deleteIfExists({ apiVersion: "v1", kind: "PersistentVolume", name: `${casNs}-${claim}` }));
        }
      },
      TIMEOUT,
    );

    test(
      "two replicas, one leader: deleting the leader's pod releases the Lease and another replica takes over at once",
      async () => {
        await admin.patch(
          { apiVersion: "apps/v1", kind: "Deployment", namespace: ns, name: DEPLOYMENT_NAME },
          { spec: { replicas: 2 } },
          "merge",
        );
        const pods = await readyOperatorPods(admin, ns, 2);
        const lease = await LeaseRecorder.start(admin, ns, LEADER_ELECTION_LEASE);
        try {
          const leader = await waitFor("a leader", () => lease.holder || undefined);
          const leaderPod = podOfHolder(leader);
          expect(pods.map((p) => p.metadata?.name)).toContain(leaderPod);
          await admin.delete({ apiVersion: "v1", kind: "Pod", namespace: ns, name: leaderPod });
          const at = await lease.handedOver(leader, 60_000);
          const before = lease.records.slice(0, at);
          const release = before.find((r) => r.holder === "");
          // The leader gave the lease up on SIGTERM (empty holder, 1 s), and the next one took it well before the
          // 15 s the lease would otherwise have run.
          expect(release).toMatchObject({ leaseDurationSeconds: 1 });
          const taken = lease.records[at];
          expect(podOfHolder(taken?.holder ?? "")).not.toBe(leaderPod);
          const lastHeld = before.filter((r) => r.holder === leader).at(-1);
          const gapMs = Date.parse(taken?.acquireTime ?? "") - Date.parse(lastHeld?.renewTime ?? "");
          expect(gapMs).toBeLessThan((lastHeld?.leaseDurationSeconds ?? 0) * 1000);
        } finally {
          await lease.stop();
        }
      },
      TIMEOUT,
    );

    test(
      "a SIGKILLed leader releases nothing: another replica takes over only once the lease has expired",
      async () => {
        const pods = await readyOperatorPods(admin, ns, 2);
        const lease = await LeaseRecorder.start(admin, ns, LEADER_ELECTION_LEASE);
        try {
          const leader = await waitFor("a leader", () => lease.holder || undefined);
          const leaderPod = pods.find((p) => p.metadata?.name === podOfHolder(leader));
          const containerId = leaderPod?.status?.containerStatuses?.[0]?.containerID ?? "";
          expect(containerId).toStartWith("containerd://");
          await node.killContainer(containerId.slice("containerd://".length));
          const at = await lease.handedOver(leader, 90_000);
          const before = lease.records.slice(0, at);
          expect(before.filter((r) => r.holder === "")).toEqual([]);
          const lastHeld = before.filter((r) => r.holder === leader).at(-1);
          const taken = lease.records[at];
          const gapMs = Date.parse(taken?.acquireTime ?? "") - Date.parse(lastHeld?.renewTime ?? "");
          expect(gapMs).toBeGreaterThanOrEqual((lastHeld?.leaseDurationSeconds ?? 15) * 1000);
          // The kubelet restarts the killed container; both replicas are Ready again.
          await readyOperatorPods(admin, ns, 2);
        } finally {
          await lease.stop();
        }
      },
      TIMEOUT,
    );

    test(
      "scone operator uninstall: the operator's pods leave the real node; the CRDs and a CAS volume stay",
      async () => {
        // A claim named like a CAS database volume: uninstall never deletes PVCs.
        const claim = {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { name: "database-kept-0", namespace: ns },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        };
        await admin.create(claim);
        const r = await scone(
          ["operator", "uninstall", "-n", ns, "--kubeconfig", cluster.kubeconfigPath, "--yes", "--force"],
          TIMEOUT,
        );
        expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
        await waitFor(
          "the operator pods to be gone from the real node",
          async () =>
            (
              await admin.list(
                { apiVersion: "v1", kind: "Pod" },
                { namespace: ns, labelSelector: "control-plane=controller-manager" },
              )
            ).items.length === 0,
          120_000,
        );
        const deployment = { apiVersion: "apps/v1", kind: "Deployment", namespace: ns, name: DEPLOYMENT_NAME };
        expect(await admin.tryGet(deployment)).toBeUndefined();
        const webhooks = { apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration" };
        expect(await admin.tryGet({ ...webhooks, name: mutatingWebhookConfigurationName(ns) })).toBeUndefined();
        const crd = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition" };
        expect(await admin.tryGet({ ...crd, name: "cas.services.scone.cloud" })).toBeDefined();
        expect(await admin.tryGet({ ...claim, namespace: ns, name: claim.metadata.name })).toBeDefined();
      },
      TIMEOUT,
    );
  });

  describe("installed from the local registry (--image-registry)", () => {
    const ns = `scone-mirror-${Math.random().toString(36).slice(2, 8)}`;

    afterAll(async () => {
      if (admin) await removeInstall(admin, ns);
    }, 120_000);

    test(
      "the operator image is pulled from the mirror, the pod becomes Ready and admits through its Service",
      async () => {
        const tag = image.reference.slice(image.reference.lastIndexOf(":") + 1);
        const mirror = `${node.registry}/scone-mirror`;
        await node.pushLayout(image.layout, `scone-mirror/scone:${tag}`);
        await install(ns, ["--image-registry", mirror]);
        const [pod] = await readyOperatorPods(admin, ns, 1);
        expect(pod?.spec?.nodeName).toBe(node.name);
        expect(pod?.spec?.containers?.[0]?.image).toBe(`${mirror}/scone:${tag}`);
        expect(pod?.status?.containerStatuses?.[0]?.imageID).toStartWith(`${mirror}/scone@sha256:`);
        const admitted = await admittedLas();
        expect(admitted.spec?.nodeSelector).toEqual({ "sgx.intel.com/capable": "true" });
      },
      TIMEOUT,
    );
  });
});
