// charts/scone-operator with the real helm (hack/helm-binaries.sh, from the Go module proxy): `helm template` renders
// exactly the objects `scone manifests` prints for the equivalent flags (object by object, after parsing), the
// chart-only values land where they should, `helm lint` passes and refuses bad values, and `helm install` on the
// real API server creates the operator's objects with those fields. KWOK runs no containers: the Deployment
// becomes Available through KWOK's simulated pod, not a running operator (that needs a real node).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Deployment } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import {
  DEPLOYMENT_NAME,
  mutatingWebhookConfigurationName,
  validatingWebhookConfigurationName,
} from "../../src/install/names.ts";
import { KubeClient } from "../../src/kube/client.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { caBundleTargets, syncCaBundles, type WebhookConfigurationLike } from "../../src/operator/certs/ca-bundle.ts";
import { preboundBackupVolume } from "../harness/backup-volume.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../harness/cluster.ts";
import { removeInstall } from "../harness/flows.ts";
import { CHART, helmBinary, installArgs, run } from "../harness/helm.ts";
import { cleanupSteps } from "../harness/operator.ts";

const ADMISSION = "admissionregistration.k8s.io/v1";

const objectsOf = (yaml: string): KubeObject[] =>
  parseAllDocuments(yaml)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);

const keyOf = (o: KubeObject) => `${o.kind} ${o.metadata?.namespace ?? "-"}/${o.metadata?.name}`;
const byKey = (objects: readonly KubeObject[]) => new Map(objects.map((o) => [keyOf(o), o]));

/** `scone manifests` from source: the same command tree and renderer as the binary. */
function sconeManifests(args: readonly string[]): KubeObject[] {
  const r = run(process.execPath, ["src/main.ts", "manifests", ...args]);
  if (r.code !== 0) throw new Error(`scone manifests ${args.join(" ")} exited ${r.code}:\n${r.stderr}`);
  return objectsOf(r.stdout);
}

/** Object-by-object deep equality, reporting the first object that differs by its kind, namespace and name. */
function expectSameObjects(fromHelm: readonly KubeObject[], fromScone: readonly KubeObject[]): void {
  const helm = byKey(fromHelm);
  const scone = byKey(fromScone);
  expect([...helm.keys()].sort()).toEqual([...scone.keys()].sort());
  for (const [key, object] of scone) expect({ key, object: helm.get(key) }).toEqual({ key, object });
}

// No cluster needed: helm template and helm lint work offline.
describe("charts/scone-operator with helm", () => {
  let helm = "";
  let tmp = "";
  let n = 0;

  const valuesFile = (values: unknown): string => {
    const path = join(tmp, `values-${++n}.json`);
    writeFileSync(path, JSON.stringify(values)); // JSON is YAML: no value is pasted into YAML text
    return path;
  };
  const helmRun = (args: readonly string[]) => run(helm, args, 300_000);
  const template = (namespace: string, values: unknown): KubeObject[] => {
    const r = helmRun([
      "template",
      "scone",
      CHART,
      "--namespace",
      namespace,
      "--include-crds",
      "-f",
      valuesFile(values),
    ]);
    if (r.code !== 0) throw new Error(`helm template exited ${r.code}:\n${r.stderr}`);
    return objectsOf(r.stdout);
  };

  beforeAll(() => {
    helm = helmBinary();
    tmp = mkdtempSync(join(tmpdir(), "scone-helm-test-"));
  }, 1_800_000);
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test("default values: the CRDs and the operator of 'scone manifests' (the release namespace is helm's)", () => {
    const scone = [...sconeManifests(["crds"]), ...sconeManifests(["operator"])].filter((o) => o.kind !== "Namespace");
    expectSameObjects(template("scone-system", {}), scone);
  });

  test("namespace, SGXPlugin and LAS turned on: everything 'scone manifests all' prints", () => {
    const values = { namespace: { create: true }, sgxplugin: { enabled: true }, las: { enabled: true } };
    expectSameObjects(template("scone-system", values), sconeManifests(["all"]));
  });

  test("monitoring.enabled: the ServiceMonitor and PrometheusRule of --monitoring, alert templates kept literal", () => {
    const objects = template("ops", { monitoring: { enabled: true } });
    expectSameObjects(
      objects.filter((o) => o.apiVersion === "monitoring.coreos.com/v1"),
      sconeManifests(["operator", "-n", "ops", "--monitoring"]).filter(
        (o) => o.apiVersion === "monitoring.coreos.com/v1",
      ),
    );
    expect(objects.map((o) => o.kind)).toContain("PrometheusRule");
  });

  test("api.enabled, metrics.secure (with monitoring): the objects of --with-api --metrics-secure --monitoring", () => {
    for (const ns of ["ops", "scone-system"]) {
      const values = { api: { enabled: true }, metrics: { secure: true }, monitoring: { enabled: true } };
      const scone = [
        ...sconeManifests(["crds"]),
        ...sconeManifests(["operator", "-n", ns, "--with-api", "--metrics-secure", "--monitoring"]),
      ].filter((o) => o.kind !== "Namespace");
      const objects = template(ns, values);
      expectSameObjects(objects, scone);
      expect(objects.map(keyOf)).toContain(`Deployment ${ns}/scone-api`);
    }
    // Each on its own: the API without secure metrics, secure metrics without the API.
    const operator = (...flags: string[]) =>
      [...sconeManifests(["crds"]), ...sconeManifests(["operator", "-n", "ops", ...flags])].filter(
        (o) => o.kind !== "Namespace",
      );
    expectSameObjects(template("ops", { api: { enabled: true } }), operator("--with-api"));
    expectSameObjects(template("ops", { metrics: { secure: true } }), operator("--metrics-secure"));
  });

  test("a mirror with a prefix, another SCONE version, namespace, node selector and DCAP key: the same as the flags", () => {
    const scone = sconeManifests([
      "all",
      "-n",
      "mirrored",
      "--image-registry",
      "mirror.example.com:5000/scone//",
      "--image-prefix",
      "osc-",
      "--set-version",
      "6.1.0",
      "--node-selector",
      'sgx.intel.com/capable: "true"',
      "--dcap-api",
      "0123456789abcdef",
      "--backup-claim",
      "mirrored-backups",
      "--backup-storage-size",
      "20Gi",
      "--backup-storage-class",
      "fast",
    ]);
    const values = {
      namespace: { create: true },
      sconeVersion: "6.1.0",
      image: { registry: "mirror.example.com:5000/scone//", prefix: "osc-" },
      sgxplugin: { enabled: true, nodeSelector: { "sgx.intel.com/capable": "true" } },
      las: { enabled: true, dcapKey: "0123456789abcdef" },
      backups: { claimName: "mirrored-backups", size: "20Gi", storageClass: "fast" },
    };
    const rendered = template("mirrored", values);
    expectSameObjects(rendered, scone);
    // Not vacuous: the mirror reached the images, the namespace reached the webhooks' Service reference.
    const deployment = byKey(rendered).get("Deployment mirrored/scone-controller-manager") as V1Deployment;
    expect(deployment.spec?.template.spec?.containers[0]?.image).toMatch(
      /^mirror\.example\.com:5000\/scone\/osc-scone:/,
    );
    const las = byKey(rendered).get("LAS -/las") as KubeObject & { spec: { image: string } };
    expect(las.spec.image).toBe("mirror.example.com:5000/scone/osc-las:6.1.0");
    const claim = byKey(rendered).get("PersistentVolumeClaim mirrored/mirrored-backups") as KubeObject & {
      spec: { storageClassName?: string; resources: { requests: { storage: string } } };
    };
    expect(claim.spec.storageClassName).toBe("fast");
    expect(claim.spec.resources.requests.storage).toBe("20Gi");
  });

  test("a full operator image reference and no SGX plugin: the same as --operator-image and --no-sgxplugin", () => {
    const image =
      "registry.example.org/ops/scone@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const scone = sconeManifests(["all", "--operator-image", image, "--no-sgxplugin"]);
    const values = { namespace: { create: true }, image: { operator: image }, las: { enabled: true } };
    expectSameObjects(template("scone-system", values), scone);
  });

  test("replicas, resources, node selector, tolerations, affinity and pull secrets: where they belong, the rest as scone's", () => {
    const chartOnly = {
      replicas: 3,
      // Both keys: helm merges maps with the defaults, so a value of only requests would keep the default limits.
      resources: { limits: { cpu: "2", memory: "1Gi" }, requests: { cpu: "50m", memory: "128Mi" } },
      nodeSelector: { "kubernetes.io/os": "linux" },
      tolerations: [{ key: "dedicated", operator: "Equal", value: "scone", effect: "NoSchedule" }],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: "sgx", operator: "Exists" }] }],
          },
        },
      },
      imagePullSecrets: [{ name: "mirror-pull" }, { name: "second-pull" }],
    };
    const all = { namespace: { create: true }, sgxplugin: { enabled: true }, las: { enabled: true } };
    const rendered = template("scone-system", { ...all, ...chartOnly });
    // scone's objects with the chart-only values put where the chart documents them.
    const expected = sconeManifests(["all"]).map((o) => {
      const copy = structuredClone(o) as KubeObject & Record<string, unknown>;
      if (o.kind === "Deployment") {
        const d = copy as unknown as V1Deployment;
        const spec = d.spec as NonNullable<V1Deployment["spec"]>;
        spec.replicas = chartOnly.replicas;
        const pod = spec.template.spec as NonNullable<typeof spec.template.spec>;
        Object.assign(pod, {
          nodeSelector: chartOnly.nodeSelector,
          tolerations: chartOnly.tolerations,
          affinity: chartOnly.affinity,
          imagePullSecrets: chartOnly.imagePullSecrets,
        });
        for (const c of pod.containers) c.resources = chartOnly.resources;
        // The CASes' sconecli pods go where the operator goes, as with `--operator-node-selector`.
        pod.containers[0]?.args?.push("--cli-node-selector=kubernetes.io/os=linux");
      }
      if (o.kind === "ServiceAccount") copy.imagePullSecrets = chartOnly.imagePullSecrets;
      if (o.kind === "LAS" || o.kind === "SGXPlugin")
        (copy.spec as Record<string, unknown>).imagePullSecrets = chartOnly.imagePullSecrets;
      return copy as KubeObject;
    });
    expectSameObjects(rendered, expected);
  });

  test("cliNodeSelector renders the operator's --cli-node-selector as `scone manifests --cli-node-selector` does", () => {
    const flag = "kubernetes.io/hostname=n1,pool=cli";
    const args = (objects: readonly KubeObject[]) =>
      (objects.find((o) => o.kind === "Deployment") as V1Deployment).spec?.template.spec?.containers[0]?.args;
    const rendered = template("scone-system", {
      nodeSelector: { zone: "a" },
      cliNodeSelector: { pool: "cli", "kubernetes.io/hostname": "n1" },
    });
    expect(args(rendered)).toEqual(args(sconeManifests(["all", "--cli-node-selector", flag])));
    expect(args(rendered)).toContain(`--cli-node-selector=${flag}`);
  });

  test("a value with YAML in it stays one string: no field can be smuggled into the objects", () => {
    const prefix = 'osc-"\n      hostNetwork: true\n#';
    const dcapKey = "k\n  privileged: true";
    const rendered = template("scone-system", { image: { prefix }, las: { enabled: true, dcapKey } });
    const d = byKey(rendered).get("Deployment scone-system/scone-controller-manager") as V1Deployment;
    const pod = d.spec?.template.spec;
    expect(pod?.hostNetwork).toBeUndefined();
    expect(pod?.containers[0]?.image).toStartWith(`registry.scontain.com/scone.cloud/${prefix}scone:`);
    expect(pod?.containers[0]?.env).toContainEqual({ name: "SCONE_IMAGE_PREFIX", value: prefix });
    const las = byKey(rendered).get("LAS -/las") as KubeObject & { spec: Record<string, unknown> };
    expect(las.spec.dcapKey).toBe(dcapKey);
    expect(las.spec.privileged).toBeUndefined();
  });

  test("helm lint passes; unknown values and wrong types are refused, naming the value", () => {
    const ok = helmRun(["lint", "--strict", CHART]);
    expect(`${ok.code}\n${ok.stdout}${ok.stderr}`).toMatch(/^0\n[\s\S]*1 chart\(s\) linted, 0 chart\(s\) failed/);
    const wrongType = helmRun(["lint", CHART, "--set", "replicas=two"]);
    expect(wrongType.code).not.toBe(0);
    expect(`${wrongType.stdout}${wrongType.stderr}`).toMatch(/replicas/);
    const unknown = helmRun(["template", "x", CHART, "--set", "image.tag=1.0"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/additional properties 'tag' not allowed|tag/);
  });
});

describe.skipIf(!clusterAvailable())("helm install of charts/scone-operator on the real API server", () => {
  const suffix = Math.random().toString(36).slice(2, 7);
  const NS = `helm-${suffix}`;
  const RELEASE = `scone-${suffix}`;
  let cluster: LocalCluster;
  let admin: KubeClient;
  let helm = "";

  const helmRun = (args: readonly string[]) =>
    run(helm, [...args, "--kubeconfig", cluster.kubeconfigPath, "--namespace", NS], 300_000);
  const webhookConfig = (kind: "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration") => ({
    apiVersion: ADMISSION,
    kind,
    name: (kind.startsWith("Mutating") ? mutatingWebhookConfigurationName : validatingWebhookConfigurationName)(NS),
  });

  const operatorDeployment = () =>
    admin.tryGet<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", namespace: NS, name: DEPLOYMENT_NAME });

  beforeAll(async () => {
    helm = helmBinary();
    cluster = await sharedCluster();
    admin = await KubeClient.load({ kubeconfig: cluster.kubeconfigPath });
  }, 1_800_000);

  afterAll(async () => {
    await cleanupSteps([
      () => helm && cluster && helmRun(["uninstall", RELEASE, "--wait"]),
      () => admin && removeInstall(admin, NS),
    ]);
  }, 180_000);

  test("install --wait: the objects exist with the values' fields and the Deployment is Available (simulated pod)", async () => {
    // No provisioner on the local cluster: the chart's backup claim binds to a volume made here.
    await preboundBackupVolume(admin, NS);
    const r = helmRun(
      installArgs(RELEASE, [
        "--set",
        "image.registry=mirror.example.com/scone",
        "--set",
        "image.prefix=osc-",
        "--set-json",
        'tolerations=[{"key":"dedicated","operator":"Equal","value":"scone","effect":"NoSchedule"}]',
      ]),
    );
    expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
    const deployment = await operatorDeployment();
    const pod = deployment?.spec?.template.spec;
    expect(pod?.containers[0]?.image).toMatch(/^mirror\.example\.com\/scone\/osc-scone:/);
    expect(pod?.tolerations).toEqual([{ key: "dedicated", operator: "Equal", value: "scone", effect: "NoSchedule" }]);
    expect(pod?.containers[0]?.env).toContainEqual({ name: "SCONE_IMAGE_PREFIX", value: "osc-" });
    expect(deployment?.status?.availableReplicas).toBe(1);
    for (const kind of ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"] as const) {
      const config = await admin.tryGet<KubeObject & WebhookConfigurationLike>(webhookConfig(kind));
      const service = (config as { webhooks?: { clientConfig?: { service?: { namespace?: string } } }[] })?.webhooks;
      expect(service?.length).toBeGreaterThan(0);
      for (const w of service ?? []) expect(w.clientConfig?.service?.namespace).toBe(NS);
    }
  }, 300_000);

  test("the caBundle the operator writes survives helm upgrade (server-side apply leaves its field alone)", async () => {
    // The operator's own code writes it (src/operator/certs/ca-bundle.ts), as at run time; any PEM CA will do.
    const targets = caBundleTargets({
      mutating: mutatingWebhookConfigurationName(NS),
      validating: validatingWebhookConfigurationName(NS),
    });
    const synced = await syncCaBundles(admin, targets, cluster.caPem);
    expect(synced.patched).toHaveLength(2);
    const bundle = Buffer.from(cluster.caPem, "utf8").toString("base64");
    const r = helmRun(["upgrade", RELEASE, CHART, "--reuse-values", "--set", "replicas=2", "--timeout", "3m"]);
    expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
    // helm returns once the API server took the change: the upgrade really wrote the objects.
    expect((await operatorDeployment())?.spec?.replicas).toBe(2);
    for (const kind of ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"] as const) {
      const config = await admin.tryGet<KubeObject & WebhookConfigurationLike>(webhookConfig(kind));
      const bundles = (config?.webhooks ?? []).map((w) => w.clientConfig?.caBundle);
      expect(bundles.length).toBeGreaterThan(0);
      expect(bundles.every((b) => b === bundle)).toBe(true);
    }
  }, 300_000);

  test("helm uninstall removes the operator's objects and keeps the CRDs (and with them every CAS)", async () => {
    const r = helmRun(["uninstall", RELEASE, "--wait", "--timeout", "3m"]);
    expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
    expect(await operatorDeployment()).toBeUndefined();
    expect(await admin.tryGet(webhookConfig("MutatingWebhookConfiguration"))).toBeUndefined();
    expect(await admin.tryGet(webhookConfig("ValidatingWebhookConfiguration"))).toBeUndefined();
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      name: "cas.services.scone.cloud",
    };
    expect(await admin.tryGet(crd)).toBeDefined();
    // The backups stay: the claim carries helm.sh/resource-policy: keep.
    expect(
      await admin.tryGet({
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        namespace: NS,
        name: "scone-operator-backups",
      }),
    ).toBeDefined();
  }, 300_000);
});
