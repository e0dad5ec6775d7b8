// The install manifests are reviewed as golden files (any change shows as a diff), plus the properties that matter.
// Update after a deliberate change with: SCONE_UPDATE_GOLDEN=1 bun test test/unit/install
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { V1ClusterRole, V1Deployment, V1MutatingWebhookConfiguration, V1Namespace } from "@kubernetes/client-node";
import pkg from "../../../package.json" with { type: "json" };
import { listImages } from "../../../src/install/images.ts";
import { renderInstallManifests, toYamlDocuments } from "../../../src/install/manifests.ts";
import { resolveInstallOptions } from "../../../src/install/options.ts";
import { managerRules } from "../../../src/install/rbac.ts";
import type { KubeObject } from "../../../src/kube/types.ts";

async function golden(name: string, rendered: string): Promise<void> {
  const path = join(import.meta.dir, "golden", name);
  if (process.env.SCONE_UPDATE_GOLDEN === "1") await Bun.write(path, rendered);
  expect(rendered).toBe(await Bun.file(path).text());
}

const find = <T extends KubeObject>(objects: KubeObject[], kind: string, name?: string): T => {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  if (!found) throw new Error(`no ${kind} ${name ?? ""}`);
  return found as T;
};

describe("golden manifests", () => {
  test("defaults (in-cluster, scone-system, 6.0.6)", async () => {
    await golden("operator-default.yaml", toYamlDocuments(renderInstallManifests({ version: "6.0.6" })));
  });
  test("local operator: url-mode webhooks, a mirror, a node selector", async () => {
    const objects = renderInstallManifests({
      namespace: "scone-local",
      version: "6.0.5",
      imageRegistry: "mirror.example.com/scone/",
      imagePrefix: "osc-",
      nodeSelector: { "kubernetes.io/os": "linux" },
      webhook: { mode: "url", port: 19443 },
    });
    await golden("operator-url-mode.yaml", toYamlDocuments(objects));
  });
});

describe("install manifests", () => {
  const objects = renderInstallManifests();

  test("objects come in apply order: namespace first, webhook configurations last", () => {
    expect(objects.map((o) => o.kind)).toEqual([
      "Namespace",
      "ServiceAccount",
      "ClusterRole",
      "ClusterRole",
      "ClusterRole",
      "Role",
      "Role",
      "ClusterRole",
      "ClusterRole",
      "ClusterRole",
      "ClusterRole",
      "ClusterRoleBinding",
      "RoleBinding",
      "RoleBinding",
      "RoleBinding",
      "RoleBinding",
      "Service",
      "Service",
      "PersistentVolumeClaim",
      "Deployment",
      "MutatingWebhookConfiguration",
      "ValidatingWebhookConfiguration",
    ]);
  });

  test("the namespace carries upstream's label and pull-secret annotations", () => {
    const ns = find<V1Namespace>(objects, "Namespace");
    expect(ns.metadata?.labels?.name).toBe("scone-system");
    expect(ns.metadata?.annotations).toEqual({
      "scone-operator/inject-pull-secret": "true",
      "sconeapps/inject-pull-secret": "true",
    });
  });

  test("the Deployment runs `scone operator --leader-elect` like upstream's manager pod", () => {
    const d = find<V1Deployment>(objects, "Deployment", "scone-controller-manager");
    const pod = d.spec?.template;
    expect(pod?.metadata?.labels).toMatchObject({ app: "scone-controller", "control-plane": "controller-manager" });
    const c = pod?.spec?.containers[0];
    expect(c?.name).toBe("manager");
    // scone's own image (hack/image), tagged with scone's version, not the SCONE version of the services.
    expect(c?.image).toBe(`registry.scontain.com/scone.cloud/scone:${pkg.version}`);
    expect([...(c?.command ?? []), ...(c?.args ?? [])].slice(0, 3)).toEqual(["/scone", "operator", "--leader-elect"]);
    expect(c?.env).toContainEqual({
      name: "SCONE_OPERATOR_NAMESPACE",
      valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } },
    });
    expect(c?.env).toContainEqual({ name: "GLOBAL_SCONE_VERSION", value: "6.0.6" });
    expect(c?.ports?.map((p) => p.containerPort)).toEqual([9443, 8080, 8081]);
    expect(c?.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: 8081 });
    expect(c?.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: 8081 });
    expect(c?.resources).toEqual({ limits: { cpu: "500m", memory: "4Gi" }, requests: { cpu: "10m", memory: "64Mi" } });
    expect(c?.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(pod?.spec?.securityContext?.runAsNonRoot).toBe(true);
    expect(pod?.spec?.imagePullSecrets).toEqual([{ name: "scone-operator-pull" }]);
    expect(c?.volumeMounts).toContainEqual({ name: "state", mountPath: "/var/lib/scone" });
  });

  test("webhooks in service mode call scone-webhook-service with the upstream names and paths", () => {
    const m = find<V1MutatingWebhookConfiguration>(
      objects,
      "MutatingWebhookConfiguration",
      "scone-mutating-webhook-configuration-scone-system",
    );
    expect(m.webhooks?.map((w) => w.name)).toEqual(["mlas.kb.io", "msgxplugin.kb.io", "mcas.kb.io"]);
    for (const w of m.webhooks ?? []) {
      expect(w.clientConfig.service).toMatchObject({
        name: "scone-webhook-service",
        namespace: "scone-system",
        port: 443,
      });
      expect(w).toMatchObject({
        failurePolicy: "Fail",
        sideEffects: "None",
        admissionReviewVersions: ["v1"],
        timeoutSeconds: 10,
      });
      expect(w.rules?.[0]?.operations).toEqual(["CREATE", "UPDATE"]);
      expect(w.clientConfig.caBundle).toBeUndefined(); // the operator owns it
    }
  });

  test("url mode renders no Deployment or Service and calls https://127.0.0.1:<port>", () => {
    const local = renderInstallManifests({ webhook: { mode: "url", port: 12345 }, webhookObjectSelector: { t: "1" } });
    expect(local.some((o) => o.kind === "Deployment" || o.kind === "Service")).toBe(false);
    const m = find<V1MutatingWebhookConfiguration>(local, "MutatingWebhookConfiguration");
    expect(m.webhooks?.[0]?.clientConfig.url).toBe("https://127.0.0.1:12345/mutate-base-scone-cloud-v1beta1-las");
    expect(m.webhooks?.[0]?.objectSelector).toEqual({ matchLabels: { t: "1" } });
  });

  test("the ClusterRole is scone-manager-role, grants no wildcard, and restricts webhook configurations by name", () => {
    const role = find<V1ClusterRole>(objects, "ClusterRole");
    expect(role.metadata?.name).toBe("scone-manager-role");
    for (const rule of role.rules ?? []) {
      expect(rule.verbs).not.toContain("*");
      expect(rule.resources).not.toContain("*");
      expect(rule.verbs).not.toContain("deletecollection");
    }
    const webhookRules = (role.rules ?? []).filter((r) => r.apiGroups?.includes("admissionregistration.k8s.io"));
    expect(webhookRules.map((r) => r.resourceNames)).toEqual([
      ["scone-mutating-webhook-configuration-scone-system"],
      ["scone-validating-webhook-configuration-scone-system"],
    ]);
    const pods = (role.rules ?? []).find((r) => r.resources?.includes("pods"));
    expect(pods?.verbs).toEqual(["get", "list", "watch", "create", "delete"]);
    const crs = (role.rules ?? [])
      .filter((r) => r.apiGroups?.includes("services.scone.cloud"))
      .flatMap((r) => r.resources);
    expect(crs).toEqual(["cas", "vaults", "cas/status", "vaults/status", "cas/finalizers", "vaults/finalizers"]);
    expect(managerRules().every((r) => r.why.length > 0)).toBe(true);
  });

  test("a bad namespace is refused with the fix", () => {
    expect(() => resolveInstallOptions({ namespace: "Scone_System" })).toThrow(
      /for --namespace: must consist of lower-case letters, digits and '-'/,
    );
  });
});

describe("listImages", () => {
  test("scone's own operator image, apart from every image of a SCONE version", () => {
    const images = listImages("6.0.6");
    expect(images.operator).toEqual({
      component: "operator",
      image: `registry.scontain.com/scone.cloud/scone:${pkg.version}`,
    });
    expect(images.services.map((i) => i.image)).toEqual([
      "registry.scontain.com/scone.cloud/sgx-plugin:6.0.6",
      "registry.scontain.com/scone.cloud/las:6.0.6",
      "registry.scontain.com/scone.cloud/cas:6.0.6",
      "registry.scontain.com/scone.cloud/backup-controller:6.0.6",
      "registry.scontain.com/scone.cloud/cas-safety-service:6.0.6",
      "registry.scontain.com/scone.cloud/cas-recovery:6.0.6",
      "registry.scontain.com/scone.cloud/sconecli:6.0.6",
      "registry.scontain.com/scone.cloud/vault:6.0.6",
    ]);
  });
  test("a mirror and prefix apply to every image, the operator's included", () => {
    const images = listImages("6.0.5", "mirror.local/scone/", "osc-");
    expect(images.services[2]).toEqual({ component: "cas", image: "mirror.local/scone/osc-cas:6.0.5" });
    expect(images.operator.image).toBe(`mirror.local/scone/osc-scone:${pkg.version}`);
  });
  test("the installer renders the image `scone images` lists; --operator-image overrides it", () => {
    const image = (o: Parameters<typeof renderInstallManifests>[0]) =>
      find<V1Deployment>(renderInstallManifests(o), "Deployment").spec?.template.spec?.containers[0]?.image;
    const mirror = { imageRegistry: "mirror.local/scone", imagePrefix: "osc-" };
    expect(image(mirror)).toBe(listImages("6.0.5", "mirror.local/scone", "osc-").operator.image);
    const pinned = `example.com/my/scone@sha256:${"ab".repeat(32)}`;
    expect(image({ ...mirror, operatorImage: pinned })).toBe(pinned);
  });
});
