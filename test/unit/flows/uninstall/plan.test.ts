import { describe, expect, test } from "bun:test";
import { refKey, refOfObject } from "../../../../src/flows/install/plan.ts";
import { planUninstall, refusalMessage, uninstallTargets } from "../../../../src/flows/uninstall/plan.ts";
import { renderInstallManifests } from "../../../../src/install/manifests.ts";
import type { KubeObject } from "../../../../src/kube/types.ts";

const NS = "scone-system";
const OURS = { "app.kubernetes.io/managed-by": "scone" };

/** Every target as present (install's labels), as a fresh install leaves the cluster. */
function installed(crds: boolean): Map<string, KubeObject | undefined> {
  const m = new Map<string, KubeObject | undefined>();
  for (const t of uninstallTargets(NS, crds)) {
    m.set(refKey(t.ref), {
      apiVersion: t.ref.apiVersion,
      kind: t.ref.kind,
      metadata: { name: t.ref.name, labels: OURS },
    });
  }
  return m;
}
const las = { apiVersion: "base.scone.cloud/v1beta1", kind: "LAS", metadata: { name: "las", labels: OURS } };
const cas = { apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", metadata: { name: "cas", namespace: "apps" } };
const line = (s: { action: string; ref: { kind: string; name: string } }) => `${s.action} ${s.ref.kind}/${s.ref.name}`;

describe("uninstallTargets", () => {
  test("every object an install renders with --with-api, --metrics-secure and --monitoring is a target", () => {
    const targets = new Set(uninstallTargets(NS, false).map((t) => refKey(t.ref)));
    const rendered = renderInstallManifests({
      namespace: NS,
      webhook: { mode: "service" },
      withApi: true,
      metricsSecure: true,
      monitoring: true,
    }).filter((o) => o.kind !== "Namespace" && o.kind !== "PersistentVolumeClaim");
    const left = rendered.filter((o) => !targets.has(refKey(refOfObject(o))));
    expect(left.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual([]);
    const kinds = new Set(uninstallTargets(NS, false).map((t) => t.ref.kind));
    expect(kinds).toContain("ServiceMonitor");
    expect(kinds).toContain("PrometheusRule");
  });
});

describe("planUninstall", () => {
  test("webhook configurations first, then LAS/SGXPlugin, then the operator and its RBAC; CRDs kept", () => {
    const plan = planUninstall({
      namespace: NS,
      observed: installed(false),
      resources: [las],
      crds: false,
      force: false,
    });
    const kinds = plan.steps.filter((s) => s.action === "delete").map((s) => s.ref.kind);
    expect(kinds.slice(0, 2).sort()).toEqual(["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]);
    expect(kinds.slice(2, 4)).toEqual(["LAS", "SGXPlugin"]);
    expect(kinds).not.toContain("CustomResourceDefinition");
    expect(kinds).not.toContain("Namespace");
    expect(kinds).not.toContain("PersistentVolumeClaim");
    expect(kinds.indexOf("Deployment")).toBeLessThan(kinds.indexOf("ClusterRole"));
    expect(kinds.indexOf("ClusterRoleBinding")).toBeLessThan(kinds.indexOf("ClusterRole"));
    expect(kinds.at(-1)).not.toBe("MutatingWebhookConfiguration");
    // install's own LAS does not count as a resource that blocks
    expect(plan.refused).toBe(false);
    expect(plan.kept.join(" ")).toContain("PersistentVolumeClaim");
  });

  test("a CAS blocks without --force; with it the plan goes on", () => {
    const input = { namespace: NS, observed: installed(false), resources: [las, cas], crds: false };
    const refused = planUninstall({ ...input, force: false });
    expect(refused.refused).toBe(true);
    expect(refused.blockers.map((b) => `${b.kind}/${b.name}`)).toEqual(["CAS/cas"]);
    expect(refusalMessage(refused, false)).toContain("CAS apps/cas");
    expect(refusalMessage(refused, false)).toContain("--force");
    expect(refusalMessage(refused, true)).toContain("deletes them all");
    expect(planUninstall({ ...input, force: true }).refused).toBe(false);
  });

  test("another LAS is a user's resource: it blocks, and a LAS named las that install did not make is kept", () => {
    const observed = installed(false);
    const foreignLas = { ...las, metadata: { name: "las" } };
    observed.set(refKey({ apiVersion: las.apiVersion, kind: "LAS", name: "las" }), foreignLas);
    const plan = planUninstall({ namespace: NS, observed, resources: [foreignLas], crds: false, force: false });
    expect(plan.refused).toBe(true);
    const step = plan.steps.find((s) => s.ref.kind === "LAS");
    expect(step?.action).toBe("absent");
    expect(step?.reason).toContain("kept");
  });

  test("--crds deletes every CRD after LAS/SGXPlugin and before the operator; PVCs and namespace stay", () => {
    const plan = planUninstall({ namespace: NS, observed: installed(true), resources: [], crds: true, force: false });
    const lines = plan.steps.filter((s) => s.action === "delete").map(line);
    const firstCrd = lines.findIndex((l) => l.startsWith("delete CustomResourceDefinition/"));
    expect(lines.filter((l) => l.includes("CustomResourceDefinition/")).length).toBeGreaterThanOrEqual(7);
    expect(lines.findIndex((l) => l.includes("SGXPlugin/"))).toBeLessThan(firstCrd);
    expect(lines.findIndex((l) => l.includes("Deployment/"))).toBeGreaterThan(firstCrd);
    expect(plan.kept.join(" ")).not.toContain("CRDs");
  });

  test("objects adopted from an upstream install (no scone labels) are install's own and deleted", () => {
    const observed = installed(false);
    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "scone-manager-config", namespace: NS } };
    observed.set(refKey({ apiVersion: "v1", kind: "ConfigMap", namespace: NS, name: "scone-manager-config" }), cm);
    const plan = planUninstall({ namespace: NS, observed, resources: [], crds: false, force: false });
    expect(plan.steps.filter((s) => s.action === "delete").map(line)).toContain(
      "delete ConfigMap/scone-manager-config",
    );
  });

  test("nothing installed: nothing to delete", () => {
    const plan = planUninstall({ namespace: NS, observed: new Map(), resources: [], crds: true, force: false });
    expect(plan.steps.every((s) => s.action === "absent")).toBe(true);
  });
});
