// The rollback plan of a takeover: what the operator phase removed is re-created as it was (without the fields
// the API server sets, without owner references to objects that are themselves re-created), what it changed is
// replaced by the old version, what it created is deleted; nothing outside the operator phase is touched.
import { describe, expect, test } from "bun:test";
import { type PlanStep, refKey } from "../../../../src/flows/install/plan.ts";
import { isTakeover, restorable, rollbackPlan } from "../../../../src/flows/install/rollback.ts";
import type { KubeObject, ObjectRef } from "../../../../src/kube/types.ts";

const NS = "scone-system";
const deploymentRef: ObjectRef = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  namespace: NS,
  name: "scone-controller-manager",
};
const certRef: ObjectRef = { apiVersion: "cert-manager.io/v1", kind: "Certificate", namespace: NS, name: "c" };
const secretRef: ObjectRef = { apiVersion: "v1", kind: "Secret", namespace: NS, name: "webhook-server-cert" };
const webhookRef: ObjectRef = {
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "ValidatingWebhookConfiguration",
  name: "v",
};
const roleRef: ObjectRef = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", name: "scone-new" };
const crdRef: ObjectRef = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", name: "x" };

const stored = (ref: ObjectRef, uid: string, extra: Record<string, unknown> = {}): KubeObject =>
  ({
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata: {
      name: ref.name,
      ...(ref.namespace ? { namespace: ref.namespace } : {}),
      uid,
      resourceVersion: "42",
      generation: 3,
      creationTimestamp: "2026-01-01T00:00:00Z",
      managedFields: [{ manager: "helm" }],
      labels: { "app.kubernetes.io/managed-by": "Helm" },
    },
    status: { replicas: 1 },
    ...extra,
  }) as unknown as KubeObject;

const step = (phase: PlanStep["phase"], action: PlanStep["action"], ref: ObjectRef): PlanStep => ({
  phase,
  action,
  ref,
  changes: [],
});

describe("restorable", () => {
  test("drops status and server-set metadata, keeps labels and spec", () => {
    const r = restorable(stored(deploymentRef, "u1", { spec: { replicas: 1 } })) as KubeObject & {
      status?: unknown;
      spec?: unknown;
    };
    expect(r.metadata).toEqual({
      name: deploymentRef.name,
      namespace: NS,
      labels: { "app.kubernetes.io/managed-by": "Helm" },
    });
    expect(r.status).toBeUndefined();
    expect(r.spec).toEqual({ replicas: 1 });
  });

  test("an owner reference to a re-created object is dropped, others are kept", () => {
    const owned = stored(secretRef, "s1");
    const owner = (uid: string) => ({ apiVersion: "v1", kind: "X", name: uid, uid });
    (owned.metadata as Record<string, unknown>).ownerReferences = [owner("cert-uid"), owner("other")];
    expect(restorable(owned, new Set(["cert-uid"])).metadata?.ownerReferences).toEqual([owner("other")]);
    expect(restorable(owned, new Set(["cert-uid", "other"])).metadata?.ownerReferences).toBeUndefined();
  });
});

describe("rollbackPlan", () => {
  const secret = stored(secretRef, "s1");
  (secret.metadata as Record<string, unknown>).ownerReferences = [{ uid: "cert-uid" }];
  const before = new Map<string, KubeObject | undefined>([
    [refKey(deploymentRef), stored(deploymentRef, "d1", { spec: { replicas: 1 } })],
    [refKey(certRef), stored(certRef, "cert-uid")],
    [refKey(secretRef), secret],
    [refKey(webhookRef), stored(webhookRef, "w1", { webhooks: [{ name: "old" }] })],
    [refKey(roleRef), undefined],
    [refKey(crdRef), stored(crdRef, "crd1")],
  ]);
  const steps = [
    step("crds", "update", crdRef),
    step("operator", "delete", certRef),
    step("operator", "delete", secretRef),
    step("operator", "delete", deploymentRef),
    step("operator", "patch", webhookRef),
    step("operator", "create", roleRef),
    step("operator", "create", deploymentRef),
    step("operator", "update", webhookRef),
    step("operator", "unchanged", { ...roleRef, name: "same" }),
    step("las", "create", { apiVersion: "base.scone.cloud/v1beta1", kind: "LAS", name: "las" }),
  ];

  test("a takeover is an operator phase that deletes something", () => {
    expect(isTakeover(steps)).toBe(true);
    expect(isTakeover(steps.filter((s) => s.action !== "delete"))).toBe(false);
  });

  test("undoes the operator phase, last write first, one action per object", () => {
    const plan = rollbackPlan(steps, before);
    expect(plan.map((a) => `${a.type} ${a.ref.kind}`)).toEqual([
      "remove ClusterRole",
      "replace ValidatingWebhookConfiguration",
      "recreate Deployment",
      "recreate Secret",
      "recreate Certificate",
    ]);
    const webhook = plan.find((a) => a.ref.kind === "ValidatingWebhookConfiguration");
    // The version from before the patch: cert-manager's injection annotation and the old webhooks come back.
    expect(webhook?.type === "replace" && (webhook.object as { webhooks?: unknown }).webhooks).toEqual([
      { name: "old" },
    ]);
    const restoredSecret = plan.find((a) => a.ref.kind === "Secret");
    expect(restoredSecret?.type === "recreate" && restoredSecret.object.metadata?.uid).toBeUndefined();
    // The Certificate is re-created too (new uid): the Secret must not point at the old one.
    expect(restoredSecret?.type === "recreate" && restoredSecret.object.metadata?.ownerReferences).toBeUndefined();
  });
});
