// Air-gapped for real, with the COMPILED binary on the local cluster (KWOK nodes: pods are created and scheduled,
// their specs exist): `scone operator install --image-registry MIRROR --image-prefix PFX` with the operator running
// as a local process that has the env the installed Deployment gives it (SCONE_IMAGE_REGISTRY/SCONE_IMAGE_PREFIX),
// a Scone stack (SGXPlugin, LAS, CAS), a CAS with backup controller and safety service, and an in-cluster install's
// operator Deployment. Then every Pod, Deployment, StatefulSet, DaemonSet and Job in the scone namespaces must name
// only images under MIRROR/PFX.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1PodSpec } from "@kubernetes/client-node";
import type { Subprocess } from "bun";
import { KubeClient } from "../../src/kube/client.ts";
import type { KubeObject, ObjectRef } from "../../src/kube/types.ts";
import { SCONE_TYPE } from "../../src/operator/scone/render.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../harness/cluster.ts";
import { BINARY, binaryPresent, freePort, removeAllLasAndSgxPlugins, removeInstall, scone } from "../harness/flows.ts";
import { waitFor, waitForWebhooksAdmit } from "../harness/kube.ts";
import { cleanupSteps, restoreHarnessNodeLabels } from "../harness/operator.ts";

if (!binaryPresent) console.warn("mirror.test.ts skipped: the compiled binary is missing — run 'make build' first");

const suffix = Math.random().toString(36).slice(2, 7);
const NS = `mirror-${suffix}`;
const NS_DEPLOYED = `mirror-dep-${suffix}`;
const MIRROR = "127.0.0.1:5000/mirror";
const PREFIX = "pfx-";
const SCONE_REF: ObjectRef = { ...SCONE_TYPE, name: `mirror-${suffix}` };
const CAS_API = "services.scone.cloud/v1beta1";
const WORKLOADS = [
  { apiVersion: "v1", kind: "Pod" },
  { apiVersion: "apps/v1", kind: "Deployment" },
  { apiVersion: "apps/v1", kind: "StatefulSet" },
  { apiVersion: "apps/v1", kind: "DaemonSet" },
  { apiVersion: "batch/v1", kind: "Job" },
] as const;

type Workload = KubeObject & { spec?: V1PodSpec & { template?: { spec?: V1PodSpec } } };

/** "Kind ns/name container=image" for every container and init container of every workload in `namespace`. */
async function imagesIn(client: KubeClient, namespace: string): Promise<string[]> {
  const out: string[] = [];
  for (const type of WORKLOADS) {
    for (const o of (await client.list<Workload>(type, { namespace })).items) {
      const spec = type.kind === "Pod" ? (o.spec as V1PodSpec) : o.spec?.template?.spec;
      for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
        out.push(`${type.kind} ${namespace}/${o.metadata?.name} ${c.name}=${c.image}`);
      }
    }
  }
  return out;
}

describe.skipIf(!binaryPresent || !clusterAvailable())("every image scone deploys comes from the mirror", () => {
  let cluster: LocalCluster;
  let admin: KubeClient;
  let operator: Subprocess<"ignore", "pipe", "pipe"> | undefined;
  let operatorLog = "";
  const stateDir = mkdtempSync(join(tmpdir(), "scone-mirror-"));
  const mirrorFlags = ["--image-registry", MIRROR, "--image-prefix", PREFIX];

  beforeAll(async () => {
    cluster = await sharedCluster();
    admin = await KubeClient.load({ kubeconfig: cluster.kubeconfigPath });
    await removeAllLasAndSgxPlugins(admin);
    const webhookPort = await freePort();
    operator = Bun.spawn(
      [
        BINARY,
        ...`operator -n ${NS} --webhook-mode url --webhook-port ${webhookPort}`.split(" "),
        ...["--probe-port", String(await freePort()), "--metrics-port", String(await freePort())],
        ...["--kubeconfig", cluster.kubeconfigPath, "--state-dir", stateDir],
      ],
      {
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        // What the installed Deployment sets (src/install/operator.ts).
        env: { ...process.env, KUBECONFIG: "", SCONE_IMAGE_REGISTRY: MIRROR, SCONE_IMAGE_PREFIX: PREFIX },
      },
    );
    // Both streams drained (a full pipe would stall the operator), kept for the failure message.
    const drain = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) operatorLog += decoder.decode(chunk, { stream: true });
    };
    for (const stream of [operator.stdout, operator.stderr]) void drain(stream);
    const r = await scone([
      ...`operator install -n ${NS} --reconcile --only-operator --timeout 60 --no-image-signature-check`.split(" "),
      ...["--local-operator", `127.0.0.1:${webhookPort}`, "--kubeconfig", cluster.kubeconfigPath, ...mirrorFlags],
      ...["--username", "u", "--access-token", `t-${suffix}`, "--email", "u@example.com"],
    ]);
    expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
    // The install (no --wait) returns before the operator has filled caBundle and listens.
    await waitForWebhooksAdmit(admin, {
      apiVersion: CAS_API,
      kind: "CAS",
      metadata: { name: "webhook-probe", namespace: NS },
      spec: {},
    } as KubeObject);
  }, 300_000);

  afterAll(async () => {
    const unfinalize = (ref: ObjectRef) => () =>
      admin?.patch(ref, { metadata: { finalizers: null } }, "merge").catch(() => undefined);
    const leftovers: ObjectRef[] = [
      SCONE_REF,
      { apiVersion: CAS_API, kind: "CAS", namespace: NS, name: "cas" },
      { apiVersion: CAS_API, kind: "CAS", namespace: NS, name: "cas-bc" },
    ];
    await cleanupSteps([
      // First: its service-mode webhooks (failurePolicy Fail, nothing serving them) would block every other step.
      () => admin && removeInstall(admin, NS_DEPLOYED),
      // With the operator still running, deleting the stack removes its LAS, SGXPlugin and CAS.
      () => admin?.deleteIfExists(SCONE_REF),
      () => waitFor("the Scone stack to be deleted", async () => ((await admin.tryGet(SCONE_REF)) ? undefined : true)),
      () => operator?.kill(),
      ...leftovers.flatMap((ref) => [unfinalize(ref), () => admin?.deleteIfExists(ref)]),
      () => admin && removeAllLasAndSgxPlugins(admin),
      () => admin && removeInstall(admin, NS),
      () => admin && restoreHarnessNodeLabels(admin),
      () => rmSync(stateDir, { recursive: true, force: true }),
    ]);
  }, 180_000);

  test("Scone stack, CAS companions and the operator Deployment: no other registry in any pod spec", async () => {
    await admin.create({
      ...SCONE_REF,
      metadata: { name: SCONE_REF.name },
      spec: { serviceVersion: "6.0.6" },
    } as KubeObject);
    await admin.create({
      apiVersion: CAS_API,
      kind: "CAS",
      metadata: { name: "cas-bc", namespace: NS },
      spec: {
        "backup-controller": { enabled: true, session: `${NS}/upgrade` },
        safetyService: {
          enabled: true,
          podAntiAffinityTopologyKey: "kubernetes.io/hostname",
          desiredReplicas: 3,
          minReplicas: 2,
        },
      },
    } as unknown as KubeObject);
    // The workloads of each: SGX plugin and LAS DaemonSets with pods on the KWOK nodes, the CAS StatefulSets, the
    // backup controller and safety service Deployments.
    const want = [
      /^DaemonSet .*\/las /,
      /^DaemonSet .*\/sgxplugin /,
      /^Pod .*\/las-/,
      /^StatefulSet .*\/cas /,
      /^StatefulSet .*\/cas-bc /,
      /^Deployment .*\/cas-bc-backup-controller /,
      /^Deployment .*\/cas-bc-safety-service /,
    ];
    const seen = await waitFor(
      "the stack's and the CAS's workloads",
      async () => {
        const images = await imagesIn(admin, NS);
        return want.every((w) => images.some((i) => w.test(i))) ? images : undefined;
      },
      120_000,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\noperator log (tail):\n${operatorLog.slice(-4_000)}`);
    });
    // The in-cluster install renders the operator Deployment itself; its webhooks go at once (nothing serves them).
    const r = await scone([
      ...`operator install -n ${NS_DEPLOYED} --reconcile --only-operator --timeout 60 --no-image-signature-check`.split(
        " ",
      ),
      ...["--kubeconfig", cluster.kubeconfigPath, ...mirrorFlags],
    ]);
    expect(r.code === 0 || r.code === 3 ? 0 : `${r.code}\n${r.stderr}`).toBe(0);
    const deployed = await imagesIn(admin, NS_DEPLOYED);
    // uninstall of an in-cluster install (--force: the stack's resources exist cluster-wide).
    const u = await scone([
      ...`operator uninstall -n ${NS_DEPLOYED} --yes --force`.split(" "),
      ...["--kubeconfig", cluster.kubeconfigPath],
    ]);
    expect(`${u.code}\n${u.stderr}`).toMatch(/^0\n/);
    expect(u.stdout).toMatch(/^deleted +Deployment /m);
    const all = [...seen, ...(await imagesIn(admin, NS)), ...deployed];
    expect(all.some((i) => i.startsWith(`Deployment ${NS_DEPLOYED}/`))).toBe(true);
    if (process.env.SCONE_TEST_SHOW) console.error(all.join("\n"));
    const foreign = all.filter((i) => !i.split("=")[1]?.startsWith(`${MIRROR}/${PREFIX}`));
    expect(foreign).toEqual([]);
  }, 240_000);
});
