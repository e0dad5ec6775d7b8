// `scone operator install` (the compiled binary) against the real API server: report mode lists everything and
// exits 3, --reconcile creates it all, a second --reconcile writes nothing, a new access token replaces the pull
// secrets (and is never printed), a mirror registry rewrites every image, --only-operator leaves LAS and SGXPlugin
// alone. KWOK runs no operator pod: the LAS/SGXPlugin runs use --local-operator with the webhooks served in this
// process; the Deployment's image is checked in service mode with --only-operator (which writes no LAS).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { V1Deployment, V1Secret } from "@kubernetes/client-node";
import pkg from "../../../package.json" with { type: "json" };
import { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import type { RunningWebhooks } from "../../../src/operator/webhooks/run.ts";
import { UPSTREAM_CRD_TAKEOVER_PATCH } from "../../../src/resources/crds.ts";
import { preboundBackupVolume } from "../../harness/backup-volume.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import {
  binaryPresent,
  freePort,
  type RunResult,
  removeAllLasAndSgxPlugins,
  removeInstall,
  scone,
  serveWebhooks,
} from "../../harness/flows.ts";
import { cleanupSteps } from "../../harness/operator.ts";

if (!binaryPresent) console.warn("install.test.ts skipped: the compiled binary is missing — run 'make build' first");

interface JsonStep {
  action: string;
  kind: string;
  name: string;
  namespace?: string;
  phase: string;
}
interface JsonOutcome {
  mode: string;
  differs: boolean;
  steps: JsonStep[];
  warnings: string[];
}

const suffix = Math.random().toString(36).slice(2, 7);
const NS = `inst-${suffix}`;
const NS_SERVICE = `inst-svc-${suffix}`;
const NS_APPS = `inst-apps-${suffix}`;
const NS_REVIEW = `inst-rev-${suffix}`;
const TOKEN_1 = `first-token-${suffix}-abcdef`;
const TOKEN_2 = `second-token-${suffix}-uvwxyz`;
const BASE = "base.scone.cloud/v1beta1";

const parse = (r: RunResult): JsonOutcome => {
  try {
    return JSON.parse(r.stdout) as JsonOutcome;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
};
const actions = (o: JsonOutcome) => o.steps.map((s) => `${s.action} ${s.kind}/${s.name}`);

describe.skipIf(!binaryPresent || !clusterAvailable())("scone operator install (compiled) on a real API server", () => {
  let cluster: LocalCluster;
  let admin: KubeClient;
  let webhooks: RunningWebhooks | undefined;
  let port = 0;

  const install = (extra: readonly string[], namespace = NS) =>
    scone([
      "operator",
      "install",
      "--no-image-signature-check", // the images here are unsigned (test/integration/images/signature.test.ts checks signatures)
      "--kubeconfig",
      cluster.kubeconfigPath,
      "-n",
      namespace,
      "--username",
      "alice",
      "--email",
      "alice@example.com",
      "--dcap-api",
      "0123456789abcdef0123456789abcdef",
      "--timeout",
      "60",
      "--create",
      NS_APPS,
      ...extra,
    ]);
  const local = () => ["--local-operator", `127.0.0.1:${port}`];
  const get = <T extends KubeObject>(kind: string, name: string, namespace?: string, apiVersion = BASE) =>
    admin.tryGet<T>({ apiVersion, kind, name, ...(namespace ? { namespace } : {}) });
  const imageOf = async (kind: string, name: string) =>
    (await get<KubeObject & { spec?: { image?: string } }>(kind, name))?.spec?.image;

  beforeAll(async () => {
    cluster = await sharedCluster();
    admin = await KubeClient.load({ kubeconfig: cluster.kubeconfigPath });
    // The report-mode test expects an empty cluster: whatever LAS/SGXPlugin an earlier file left would change the plan.
    await removeAllLasAndSgxPlugins(admin);
    port = await freePort();
  }, 300_000);

  afterAll(async () => {
    // Each step on its own: webhook configurations (failurePolicy Fail) or a ClusterRole left behind by a step
    // that never ran would break the LAS/SGXPlugin writes of later files.
    await cleanupSteps([
      () => webhooks?.stop(),
      () => admin && removeInstall(admin, NS),
      () => admin && removeInstall(admin, NS_SERVICE),
      () => admin && removeInstall(admin, NS_APPS),
      () => admin && removeInstall(admin, NS_REVIEW),
      // Should the takeover test have failed half-way, the shared Vault CRD must not keep a conversion webhook.
      () =>
        admin?.patch(
          {
            apiVersion: "apiextensions.k8s.io/v1",
            kind: "CustomResourceDefinition",
            name: "vaults.services.scone.cloud",
          },
          UPSTREAM_CRD_TAKEOVER_PATCH,
        ),
    ]);
  }, 120_000);

  test("report mode on an empty cluster: everything to create, exit code 3, nothing written", async () => {
    const r = await install([...local(), "--access-token", TOKEN_1, "-o", "json"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("--reconcile");
    const o = parse(r);
    expect(o.mode).toBe("report");
    expect(o.differs).toBe(true);
    const notCrd = o.steps.filter((s) => s.kind !== "CustomResourceDefinition");
    expect(notCrd.every((s) => s.action === "create")).toBe(true);
    // CRDs may be there already (other tests install them); they are created or brought up to date.
    for (const s of o.steps.filter((x) => x.kind === "CustomResourceDefinition"))
      expect(["create", "update", "unchanged"]).toContain(s.action);
    expect(actions(o)).toEqual(
      expect.arrayContaining([
        `create Namespace/${NS}`,
        "create Secret/scone-operator-pull",
        "create Secret/sconeapps",
        "create ServiceAccount/scone-controller-manager",
        `create ClusterRole/scone-manager-role-${NS}`,
        `create MutatingWebhookConfiguration/scone-mutating-webhook-configuration-${NS}`,
        "create SGXPlugin/sgxplugin",
        "create LAS/las",
      ]),
    );
    expect(await get("Namespace", NS, undefined, "v1")).toBeUndefined();

    // The same as plain text lines (no terminal: no colour codes).
    const text = await install([...local(), "--access-token", TOKEN_1]);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(new RegExp(`^create +Namespace ${NS}$`, "m"));
    expect(text.stdout).toMatch(/^create +LAS las$/m);
    expect(text.stdout).not.toContain("\x1b[");
    expect(text.stdout).toMatch(/to create.*run again with --reconcile/);
  });

  test("--reconcile creates everything; LAS and SGXPlugin as upstream's manifests", async () => {
    // Its first check fails until install creates the namespace; it retries on its own (log kept out of the output).
    webhooks = await serveWebhooks(admin, NS, port, []);
    const r = await install([...local(), "--access-token", TOKEN_1, "--reconcile"]);
    expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
    expect(r.stderr).not.toMatch(/warning|error/i);
    expect(r.stdout).toMatch(new RegExp(`^created +Namespace ${NS}$`, "m"));
    expect(r.stdout).toMatch(/^created +LAS las$/m);

    const ns = await get<KubeObject>("Namespace", NS, undefined, "v1");
    expect(ns?.metadata?.annotations).toMatchObject({
      "scone-operator/inject-pull-secret": "true",
      "sconeapps/inject-pull-secret": "true",
    });
    const secret = await get<V1Secret>("Secret", "scone-operator-pull", NS, "v1");
    expect(secret?.type).toBe("kubernetes.io/dockerconfigjson");
    expect(await get("Secret", "sconeapps", NS, "v1")).toBeDefined();
    // --create: the service namespace, with the pull secrets CAS and applications use.
    expect(await get("Namespace", NS_APPS, undefined, "v1")).toBeDefined();
    expect(await get("Secret", "sconeapps", NS_APPS, "v1")).toBeDefined();
    expect(
      await get("ClusterRole", `scone-manager-role-${NS}`, undefined, "rbac.authorization.k8s.io/v1"),
    ).toBeDefined();
    const las = await get<KubeObject & { spec: Record<string, unknown> }>("LAS", "las");
    expect(las?.spec).toMatchObject({
      image: "registry.scontain.com/scone.cloud/las:6.0.6",
      namespace: NS,
      imagePullSecrets: [{ name: "scone-operator-pull" }],
      dcapKey: "0123456789abcdef0123456789abcdef",
    });
    expect(await imageOf("SGXPlugin", "sgxplugin")).toBe("registry.scontain.com/scone.cloud/sgx-plugin:6.0.6");
    // The output never carries the token or the DCAP key.
    expect(`${r.stdout}${r.stderr}`).not.toContain(TOKEN_1);
    expect(`${r.stdout}${r.stderr}`).not.toContain("0123456789abcdef0123456789abcdef");
  });

  test("a second --reconcile reports everything unchanged and writes nothing; report mode then exits 0", async () => {
    const versions = async () =>
      Promise.all([
        get("LAS", "las"),
        get("SGXPlugin", "sgxplugin"),
        get("Secret", "sconeapps", NS, "v1"),
        get("Namespace", NS, undefined, "v1"),
        get("CustomResourceDefinition", "cas.services.scone.cloud", undefined, "apiextensions.k8s.io/v1"),
      ]).then((l) => l.map((o) => o?.metadata?.resourceVersion));
    const before = await versions();
    const r = await install([...local(), "--access-token", TOKEN_1, "--reconcile", "-o", "json"]);
    expect(r.code).toBe(0);
    const o = parse(r);
    expect(o.steps.filter((s) => s.action !== "unchanged")).toEqual([]);
    expect(o.differs).toBe(false);
    expect(await versions()).toEqual(before);

    const report = await install([...local(), "--access-token", TOKEN_1]);
    expect(report.code).toBe(0);
    expect(report.stdout).not.toMatch(/^(create|update|delete)/m);
  });

  test("--update re-applies everything that exists", async () => {
    const r = await install([...local(), "--access-token", TOKEN_1, "--update", "-o", "json"]);
    expect(r.code).toBe(0);
    const o = parse(r);
    expect(o.mode).toBe("update");
    expect(o.steps.length).toBeGreaterThan(10);
    expect(o.steps.filter((s) => s.action !== "update")).toEqual([]);
  });

  test("a new --access-token replaces both pull secrets and nothing else; neither token is printed", async () => {
    const r = await install([...local(), "--access-token", TOKEN_2, "--reconcile", "-o", "json", "--verbose"]);
    expect(r.code).toBe(0);
    const changed = parse(r).steps.filter((s) => s.action !== "unchanged");
    expect(changed.map((s) => `${s.action} ${s.kind}/${s.namespace}/${s.name}`)).toEqual([
      `update Secret/${NS}/scone-operator-pull`,
      `update Secret/${NS}/sconeapps`,
      `update Secret/${NS_APPS}/scone-operator-pull`,
      `update Secret/${NS_APPS}/sconeapps`,
    ]);
    for (const name of ["scone-operator-pull", "sconeapps"]) {
      const s = await get<V1Secret>("Secret", name, NS, "v1");
      const doc = Buffer.from(s?.data?.[".dockerconfigjson"] ?? "", "base64").toString();
      expect(doc).toContain(TOKEN_2);
    }
    const verbose = await install([...local(), "--access-token", TOKEN_1, "--verbose"]);
    expect(verbose.code).toBe(3);
    expect(verbose.stdout).toContain('data[".dockerconfigjson"]: changed (value not shown)');
    for (const out of [r, verbose]) {
      expect(`${out.stdout}${out.stderr}`).not.toContain(TOKEN_1);
      expect(`${out.stdout}${out.stderr}`).not.toContain(TOKEN_2);
    }
  });

  test("--image-registry mirror.local/scone --image-prefix osc- rewrites the LAS and SGXPlugin images", async () => {
    const mirror = ["--image-registry", "mirror.local/scone", "--image-prefix", "osc-", "--set-version", "6.0.7"];
    const r = await install([...local(), "--access-token", TOKEN_2, "--reconcile", ...mirror, "-o", "json"]);
    expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
    expect(await imageOf("LAS", "las")).toBe("mirror.local/scone/osc-las:6.0.7");
    expect(await imageOf("SGXPlugin", "sgxplugin")).toBe("mirror.local/scone/osc-sgx-plugin:6.0.7");
    const secret = await get<V1Secret>("Secret", "sconeapps", NS, "v1");
    const doc = JSON.parse(Buffer.from(secret?.data?.[".dockerconfigjson"] ?? "", "base64").toString());
    expect(Object.keys(doc.auths)).toEqual(["mirror.local"]);
  });

  test("an SGXPlugin of another name is replaced by sgxplugin (one plugin per cluster, as upstream)", async () => {
    await admin.delete({ apiVersion: BASE, kind: "SGXPlugin", name: "sgxplugin" });
    await admin.create({ apiVersion: BASE, kind: "SGXPlugin", metadata: { name: "my-plugin" }, spec: {} });
    const mirror = ["--image-registry", "mirror.local/scone", "--image-prefix", "osc-", "--set-version", "6.0.7"];
    const r = await install([...local(), "--access-token", TOKEN_2, "--reconcile", ...mirror, "-o", "json"]);
    expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
    expect(
      parse(r)
        .steps.filter((s) => s.action !== "unchanged")
        .map((s) => `${s.action} ${s.kind}/${s.name}`),
    ).toEqual(["delete SGXPlugin/my-plugin", "create SGXPlugin/sgxplugin"]);
    expect(await get("SGXPlugin", "my-plugin")).toBeUndefined();
    expect(await imageOf("SGXPlugin", "sgxplugin")).toBe("mirror.local/scone/osc-sgx-plugin:6.0.7");
  });

  test("a CRD left by the upstream chart (conversion webhook, cert-manager injection) is taken over; Vault warns, not refuses", async () => {
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      name: "vaults.services.scone.cloud",
    };
    await admin.patch(crd, {
      metadata: {
        labels: { "app.kubernetes.io/part-of": null },
        annotations: { "cert-manager.io/inject-ca-from": `${NS}/scone-serving-cert` },
      },
      spec: {
        conversion: {
          strategy: "Webhook",
          webhook: {
            clientConfig: { service: { name: "scone-webhook-service", namespace: NS, path: "/convert" } },
            conversionReviewVersions: ["v1"],
          },
        },
      },
    });
    const mirror = ["--image-registry", "mirror.local/scone", "--image-prefix", "osc-", "--set-version", "6.0.7"];
    const r = await install([...local(), "--access-token", TOKEN_2, "--reconcile", ...mirror, "-o", "json"]);
    expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
    const o = parse(r);
    expect(o.warnings.join("\n")).toContain("vaults.services.scone.cloud exists");
    const step = o.steps.find((s) => s.name === crd.name);
    expect(step?.action).toBe("update");
    const after = await admin.get<KubeObject & { spec: { conversion: Record<string, unknown> } }>(crd);
    expect(after.spec.conversion).toEqual({ strategy: "None" });
    expect(after.metadata?.annotations?.["cert-manager.io/inject-ca-from"]).toBeUndefined();
    expect(after.metadata?.labels?.["app.kubernetes.io/part-of"]).toBe("scone");
  });

  test("service mode, --only-operator, over an upstream Deployment: replaced, image from the mirror, Available (--wait), no LAS or SGXPlugin step, idempotent", async () => {
    const args = [
      "--only-operator",
      "--access-token",
      TOKEN_1,
      "--image-registry",
      "mirror.local/scone",
      "--image-prefix",
      "osc-",
      "--reconcile",
      "-o",
      "json",
    ];
    try {
      // What the upstream helm chart left: its Deployment is replaced, not patched (its pod fields would survive).
      await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS_SERVICE } });
      const upstreamLabels = { "control-plane": "controller-manager", "app.kubernetes.io/managed-by": "Helm" };
      await admin.create({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "scone-controller-manager", namespace: NS_SERVICE, labels: upstreamLabels },
        spec: {
          selector: { matchLabels: { "control-plane": "controller-manager" } },
          template: {
            metadata: { labels: upstreamLabels },
            spec: { containers: [{ name: "manager", image: "registry.scontain.com/scone.cloud/k8soperators:6.0.6" }] },
          },
        },
      } as KubeObject);
      // No provisioner on the local cluster: the backup claim binds to a volume made here.
      await preboundBackupVolume(admin, NS_SERVICE);
      const r = await install([...args, "--wait"], NS_SERVICE);
      expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
      const o = parse(r);
      expect(actions(o)).toEqual(
        expect.arrayContaining([
          "delete Deployment/scone-controller-manager",
          "create Deployment/scone-controller-manager",
        ]),
      );
      expect(o.steps.some((s) => s.kind === "LAS" || s.kind === "SGXPlugin")).toBe(false);
      const deployment = await get<V1Deployment>("Deployment", "scone-controller-manager", NS_SERVICE, "apps/v1");
      expect(deployment?.spec?.template.spec?.containers.map((c) => c.image)).toEqual([
        `mirror.local/scone/osc-scone:${pkg.version}`,
      ]);
      expect(deployment?.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("scone");
      // --wait: KWOK reports the pod ready, so the Deployment became Available before install returned.
      expect(deployment?.status?.conditions?.find((c) => c.type === "Available")?.status).toBe("True");
      expect(await get("Service", "scone-webhook-service", NS_SERVICE, "v1")).toBeDefined();
      const again = parse(await install(args, NS_SERVICE));
      expect(again.steps.filter((s) => s.action !== "unchanged")).toEqual([]);
    } finally {
      // Its webhook configurations point at a Service no pod answers: remove them before any other LAS write.
      await removeInstall(admin, NS_SERVICE);
    }
  });

  test("a reinstall without --metrics-secure withdraws what it installed: the token-review rights and the metrics reader role", async () => {
    const args = ["--only-operator", "--access-token", TOKEN_1, "--reconcile", "-o", "json"];
    const reviewBinding = `scone-api-review-rolebinding-${NS_REVIEW}`;
    const withdrawn = [
      `ClusterRole/scone-api-review-role-${NS_REVIEW}`,
      `ClusterRoleBinding/${reviewBinding}`,
      `ClusterRole/scone-metrics-reader-${NS_REVIEW}`,
    ];
    const rbac = "rbac.authorization.k8s.io/v1";
    await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS_REVIEW } });
    // No provisioner on the local cluster: the backup claim binds to a volume made here.
    await preboundBackupVolume(admin, NS_REVIEW);
    const first = await install([...args, "--metrics-secure"], NS_REVIEW);
    expect(`${first.code}\n${first.stderr}`).toMatch(/^0\n/);
    expect(actions(parse(first))).toEqual(expect.arrayContaining(withdrawn.map((w) => `create ${w}`)));
    expect(await get("ClusterRoleBinding", reviewBinding, undefined, rbac)).toBeDefined();

    const second = await install(args, NS_REVIEW);
    expect(`${second.code}\n${second.stderr}`).toMatch(/^0\n/);
    expect(actions(parse(second))).toEqual(expect.arrayContaining(withdrawn.map((w) => `delete ${w}`)));
    for (const w of withdrawn) {
      const [kind, name] = w.split("/") as [string, string];
      expect(await get(kind, name, undefined, rbac)).toBeUndefined();
    }
    // Withdrawn once: the next run has nothing to do.
    const again = parse(await install(args, NS_REVIEW));
    expect(again.steps.filter((s) => s.action !== "unchanged")).toEqual([]);
  });
});
