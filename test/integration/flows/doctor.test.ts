// `scone doctor` against the local cluster (kube-apiserver, controller-manager, KWOK nodes): an install rendered
// by scone itself in a namespace of this suite (RBAC, ServiceAccount, the operator Deployment, whose pod KWOK
// runs), the pull secrets, its webhooks served in this process (URL mode), the leader Lease of the operator pod and
// a Ready LAS pod. Healthy, doctor exits 0. Then each named fault is put in and doctor must find it:
// - a broken webhook certificate: webhook configurations whose caBundle is another CA (the API server's call fails);
// - an SGX node without the resource: a node labelled sgx.intel.com/capable that advertises no sgx.intel.com/enclave;
// - a LAS failing on device permissions: a LAS pod whose status carries the /dev/sgx_enclave permission error;
// - an expired pull token: doctor's own pull-check pods, run on a node no kubelet serves (KWOK "pulls" anything),
//   get the kubelet's ErrImagePull status with the registry's 401 answer from this test, as a kubelet would set it.
//   A real pull from a registry refusing the token needs the real node (test/integration/realnode), not run here.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Finding } from "../../../src/flows/doctor/finding.ts";
import { DOCTOR_PULL_LABEL } from "../../../src/flows/doctor/pull-probe.ts";
import { renderPullSecrets } from "../../../src/flows/install/pull-secrets.ts";
import { renderInstallManifests } from "../../../src/install/manifests.ts";
import {
  mutatingWebhookConfigurationName,
  OPERATOR_POD_LABELS,
  validatingWebhookConfigurationName,
} from "../../../src/install/names.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { createLogger } from "../../../src/log.ts";
import { createCa } from "../../../src/operator/certs/pki.ts";
import { LEADER_ELECTION_LEASE } from "../../../src/operator/run.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { adminClient, waitFor } from "../../harness/kube.ts";
import { cleanupSteps, installCrds } from "../../harness/operator.ts";
import { LAS_API, type SuiteWebhooks, startSuiteWebhooks } from "../../harness/suite-webhooks.ts";

const SUFFIX = Math.random().toString(36).slice(2, 8);
const NS = `scone-doctor-${SUFFIX}`;
/** The namespace name whose webhook configurations carry a wrong caBundle (no namespace of that name is needed). */
const BROKEN = `scone-doctor-broken-${SUFFIX}`;
const UNSERVED_NODE = `doctor-no-kubelet-${SUFFIX}`;
const LABEL_KEY = "scone-doctor-suite";
const ROOT = join(import.meta.dir, "../../..");
const REGISTRY = "registry.scontain.com";
const TOKEN = `glpat-${SUFFIX}SecretTokenValue`;
const IMAGE = `${REGISTRY}/scone.cloud/sconecli:6.0.6`;
/** The kubelet's Failed message for a GitLab registry refusing an expired token (containerd 2.x words). */
const EXPIRED_401 = `failed to pull and unpack image "${IMAGE}": failed to resolve reference "${IMAGE}": failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://gitlab.scontain.com/jwt/auth?scope=repository%3Ascone.cloud%2Fsconecli%3Apull&service=container_registry: 401 Unauthorized`;
const LAS_DEVICE_ERROR = "[SCONE|FATAL] cannot open /dev/sgx_enclave: Permission denied";

/** The cluster has no storage provisioner: the operator pod goes without its backup volume (KWOK mounts nothing). */
function withoutClaimVolume(o: KubeObject): KubeObject {
  if (o.kind !== "Deployment") return o;
  const d = structuredClone(o) as KubeObject & {
    spec: {
      template: {
        spec: {
          volumes?: { persistentVolumeClaim?: unknown; name: string }[];
          containers: { volumeMounts?: { name: string }[] }[];
        };
      };
    };
  };
  const pod = d.spec.template.spec;
  const claims = new Set((pod.volumes ?? []).filter((v) => v.persistentVolumeClaim).map((v) => v.name));
  pod.volumes = (pod.volumes ?? []).filter((v) => !claims.has(v.name));
  for (const c of pod.containers) c.volumeMounts = (c.volumeMounts ?? []).filter((m) => !claims.has(m.name));
  return d;
}

interface DoctorRun {
  readonly code: number;
  readonly findings: Finding[];
  readonly stdout: string;
  readonly stderr: string;
}

describe.skipIf(!clusterAvailable())("scone doctor on the local cluster", () => {
  let cluster: LocalCluster;
  let admin: KubeClient;
  let webhooks: SuiteWebhooks | undefined;
  const home = mkdtempSync(join(tmpdir(), "scone-doctor-it-"));
  const clusterObjects: KubeObject[] = [];

  async function doctor(args: readonly string[]): Promise<DoctorRun> {
    const proc = Bun.spawn(
      [
        process.execPath,
        join(ROOT, "src/main.ts"),
        "doctor",
        "--kubeconfig",
        cluster.kubeconfigPath,
        "-o",
        "json",
        ...args,
      ],
      {
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, KUBECONFIG: "", HOME: home, NO_COLOR: "1" },
        timeout: 120_000,
      },
    );
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    let findings: Finding[] = [];
    try {
      findings = (JSON.parse(stdout) as { findings: Finding[] }).findings;
    } catch {
      throw new Error(`scone doctor printed no JSON (exit ${code}): ${stdout}\n${stderr}`);
    }
    return { code, findings, stdout, stderr };
  }
  const finding = (run: DoctorRun, check: string) => run.findings.find((f) => f.check === check);
  const failed = (run: DoctorRun) => run.findings.filter((f) => f.status === "fail");

  async function renewLease(holder: string): Promise<void> {
    await admin.apply(
      {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: LEADER_ELECTION_LEASE, namespace: NS },
        spec: {
          holderIdentity: holder,
          leaseDurationSeconds: 15,
          renewTime: new Date().toISOString().replace("Z", "000Z"),
        },
      },
      { force: true, fieldManager: "scone-doctor-test" },
    );
  }

  let operatorPod = "";

  beforeAll(async () => {
    cluster = await sharedCluster();
    admin = await adminClient(cluster);
    await installCrds(admin);
    // scone's own install in NS, except its webhook configurations (served below, in this process).
    const install = renderInstallManifests({ namespace: NS, version: "6.0.6" }).filter(
      (o) => !o.kind?.endsWith("WebhookConfiguration") && o.kind !== "PersistentVolumeClaim",
    );
    for (const rendered of install) {
      const o = withoutClaimVolume(rendered);
      await admin.apply(o, { force: true, fieldManager: "scone-doctor-test" });
      if (!o.metadata?.namespace && o.kind !== "Namespace") clusterObjects.push(o);
    }
    for (const s of renderPullSecrets(
      NS,
      { registry: REGISTRY, username: "alice", accessToken: TOKEN, email: "a@example.com" },
      {},
    ))
      await admin.create(s as KubeObject);
    webhooks = await startSuiteWebhooks(admin, NS, LABEL_KEY, {
      log: createLogger({ level: "warn", sink: process.stderr }),
    });
    operatorPod = await waitFor(
      "the operator pod Ready (KWOK runs it)",
      async () => {
        const pods = await admin.list<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
          { apiVersion: "v1", kind: "Pod" },
          { namespace: NS, labelSelector: `control-plane=${OPERATOR_POD_LABELS["control-plane"]}` },
        );
        const ready = pods.items.find((p) =>
          p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        );
        return ready?.metadata?.name;
      },
      90_000,
    );
    // A LAS pod on an SGX node (KWOK marks it Ready).
    await admin.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "las-healthy", namespace: NS, labels: { "app.kubernetes.io/name": "las" } },
      spec: { nodeName: "sgx-node-1", containers: [{ name: "las", image: `${REGISTRY}/scone.cloud/las:6.0.6` }] },
    });
    await waitFor("the LAS pod Ready", async () => {
      const p = await admin.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>({
        apiVersion: "v1",
        kind: "Pod",
        namespace: NS,
        name: "las-healthy",
      });
      return p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    });
  }, 240_000);

  afterAll(async () => {
    await cleanupSteps([
      () => webhooks?.stop(),
      ...[mutatingWebhookConfigurationName(BROKEN), validatingWebhookConfigurationName(BROKEN)].map(
        (name, i) => () =>
          admin.deleteIfExists({
            apiVersion: "admissionregistration.k8s.io/v1",
            kind: i === 0 ? "MutatingWebhookConfiguration" : "ValidatingWebhookConfiguration",
            name,
          }),
      ),
      () => admin.deleteIfExists({ apiVersion: "v1", kind: "Node", name: UNSERVED_NODE }),
      ...clusterObjects.map(
        (o) => () =>
          admin.deleteIfExists({ apiVersion: o.apiVersion ?? "", kind: o.kind ?? "", name: o.metadata?.name ?? "" }),
      ),
      () => admin.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: NS }),
      () => rmSync(home, { recursive: true, force: true }),
    ]);
  });

  test("a healthy cluster: no check fails, exit 0", async () => {
    await renewLease(`${operatorPod}_doctor-test`);
    const run = await doctor(["-n", NS, "--timeout", "60s"]);
    expect(failed(run)).toEqual([]);
    expect(run.code).toBe(0);
    expect(finding(run, "operator leading")?.message).toContain(operatorPod);
    expect(finding(run, "rbac")?.status).toBe("ok");
    expect(finding(run, "webhook reachable")?.status).toBe("ok");
    expect(finding(run, "webhook certificate")?.status).toBe("ok");
    expect(finding(run, "sgx node sgx-node-1")?.status).toBe("ok");
    expect(finding(run, "las node sgx-node-1")?.status).toBe("ok");
    expect(finding(run, "clock")?.status).toBe("ok");
    expect(finding(run, "crd cas.services.scone.cloud")?.status).toBe("ok");
    // KWOK "pulls" any image: said, not passed off as proof.
    expect(finding(run, "pull-secret sconeapps")?.status).toBe("warn");
    expect(run.stdout).not.toContain(TOKEN);
  }, 180_000);

  test("a broken webhook certificate: the API server does not trust the webhook, exit 1", async () => {
    const other = await createCa("not-the-webhooks-ca", { now: new Date() });
    const wrongBundle = Buffer.from(other.certPem).toString("base64");
    const labels = { [LABEL_KEY]: BROKEN };
    for (const c of webhooks?.configs ?? []) {
      const broken = c as KubeObject & {
        webhooks: { clientConfig: { caBundle?: string }; objectSelector?: unknown }[];
      };
      const name =
        c.kind === "MutatingWebhookConfiguration"
          ? mutatingWebhookConfigurationName(BROKEN)
          : validatingWebhookConfigurationName(BROKEN);
      await admin.apply(
        {
          apiVersion: c.apiVersion,
          kind: c.kind,
          metadata: { name },
          webhooks: broken.webhooks.map((w) => ({
            ...w,
            clientConfig: { ...w.clientConfig, caBundle: wrongBundle },
            objectSelector: { matchLabels: labels },
          })),
        } as KubeObject,
        { force: true, fieldManager: "scone-doctor-test" },
      );
    }
    // The API server picks configurations up asynchronously: until a dry run with their labels fails on them.
    await waitFor("the API server to call the broken webhooks", async () => {
      try {
        await admin.create(
          { apiVersion: LAS_API, kind: "LAS", metadata: { name: `probe-${SUFFIX}`, labels }, spec: {} },
          { dryRun: true },
        );
        return false;
      } catch (e) {
        return /x509|certificate/.test(String(e));
      }
    });
    const run = await doctor(["-n", BROKEN, "--no-pull-check"]);
    expect(run.code).toBe(1);
    const reach = finding(run, "webhook reachable");
    expect(reach?.status).toBe("fail");
    expect(reach?.message).toContain("does not trust the webhook's certificate");
  }, 120_000);

  test("an SGX node without the resource, and a LAS failing on device permissions", async () => {
    // A node no kubelet (and no KWOK) serves: what it advertises and its pods' status are this test's to set.
    await admin.create({
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: UNSERVED_NODE,
        labels: { "sgx.intel.com/capable": "true", "kubernetes.io/hostname": UNSERVED_NODE },
      },
    });
    await admin.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "las-denied", namespace: NS, labels: { "app.kubernetes.io/name": "las" } },
      spec: { nodeName: UNSERVED_NODE, containers: [{ name: "las", image: `${REGISTRY}/scone.cloud/las:6.0.6` }] },
    });
    await admin.patch(
      { apiVersion: "v1", kind: "Pod", namespace: NS, name: "las-denied" },
      {
        status: {
          phase: "Running",
          conditions: [{ type: "Ready", status: "False", reason: "ContainersNotReady" }],
          containerStatuses: [
            {
              name: "las",
              image: `${REGISTRY}/scone.cloud/las:6.0.6`,
              imageID: "",
              ready: false,
              restartCount: 3,
              state: {
                waiting: {
                  reason: "CrashLoopBackOff",
                  message: "back-off 40s restarting failed container=las pod=las-denied",
                },
              },
              lastState: { terminated: { exitCode: 1, reason: "Error", message: LAS_DEVICE_ERROR } },
            },
          ],
        },
      },
      "merge",
      { subresource: "status" },
    );
    const run = await doctor(["-n", NS, "--no-pull-check"]);
    expect(run.code).toBe(1);
    const sgx = finding(run, `sgx node ${UNSERVED_NODE}`);
    expect(sgx?.status).toBe("fail");
    expect(sgx?.message).toContain("does not advertise sgx.intel.com/enclave");
    const las = finding(run, `las node ${UNSERVED_NODE}`);
    expect(las?.status).toBe("fail");
    expect(las?.message).toContain("permission denied");
    expect(las?.fix).toContain("0666");
    expect(finding(run, "las node sgx-node-1")?.status).toBe("ok");
  }, 120_000);

  test("an expired pull token: the registry's 401 in the pull-check pod's status fails the secret", async () => {
    const running = doctor(["-n", NS, "--pull-check-node", UNSERVED_NODE, "--timeout", "60s"]);
    // Play the kubelet: every pull-check pod doctor starts on the unserved node gets the registry's answer.
    const answered = new Set<string>();
    await waitFor(
      "both pull-check pods answered",
      async () => {
        const pods = await admin.list(
          { apiVersion: "v1", kind: "Pod" },
          { namespace: NS, labelSelector: `${DOCTOR_PULL_LABEL.key}=${DOCTOR_PULL_LABEL.value}` },
        );
        for (const p of pods.items) {
          const name = p.metadata?.name ?? "";
          if (answered.has(name)) continue;
          await admin.patch(
            { apiVersion: "v1", kind: "Pod", namespace: NS, name },
            {
              status: {
                phase: "Pending",
                containerStatuses: [
                  {
                    name: "pull-check",
                    image: IMAGE,
                    imageID: "",
                    ready: false,
                    restartCount: 0,
                    state: { waiting: { reason: "ErrImagePull", message: EXPIRED_401 } },
                  },
                ],
              },
            },
            "merge",
            { subresource: "status" },
          );
          answered.add(name);
        }
        return answered.size >= 2;
      },
      90_000,
    );
    const run = await running;
    expect(run.code).toBe(1);
    for (const secret of ["scone-operator-pull", "sconeapps"]) {
      const f = finding(run, `pull-secret ${secret}`);
      expect(f?.status).toBe("fail");
      expect(f?.message).toContain("401 Unauthorized");
      expect(f?.message).toContain("expired");
      expect(f?.message).toContain("user alice");
    }
    expect(run.stdout).not.toContain(TOKEN);
    // The pods are removed.
    const left = await admin.list(
      { apiVersion: "v1", kind: "Pod" },
      { namespace: NS, labelSelector: `${DOCTOR_PULL_LABEL.key}=${DOCTOR_PULL_LABEL.value}` },
    );
    expect(left.items).toEqual([]);
  }, 150_000);
});
