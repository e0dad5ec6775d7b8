// Replacing an upstream (helm chart) install in place. Server-side apply takes over the fields scone sets, but it
// cannot drop fields another manager owns: the upstream Deployment would keep `/manager`'s volume mounts and
// `automountServiceAccountToken: false`, and cert-manager would keep re-issuing `webhook-server-cert` and
// re-injecting its CA into the webhook configurations, fighting the operator's own certificates. So before the
// first apply the installer deletes what upstream left and strips cert-manager's injection annotation.
import type { KubeObject, ObjectRef } from "../kube/types.ts";
import { WEBHOOK_CERT_SECRET } from "../operator/certs/secret.ts";
import { DEPLOYMENT_NAME, mutatingWebhookConfigurationName, validatingWebhookConfigurationName } from "./names.ts";

/** Set on every object scone installs (installLabels). */
const MANAGED_BY = { key: "app.kubernetes.io/managed-by", value: "scone" } as const;

export interface TakeoverStep {
  readonly ref: ObjectRef;
  /** delete: remove the object when it exists and isForeign(); patch: JSON merge patch when it exists. */
  readonly action: { readonly type: "delete" } | { readonly type: "patch"; readonly mergePatch: unknown };
  readonly why: string;
}

/** Whether an existing object was made by something other than scone (and so must be replaced, not patched). */
export function isForeign(obj: KubeObject | undefined): boolean {
  return obj !== undefined && obj.metadata?.labels?.[MANAGED_BY.key] !== MANAGED_BY.value;
}

/** The steps, in order. Missing objects (or kinds, e.g. no cert-manager CRDs) are skipped by the installer. */
export function upstreamTakeoverSteps(namespace: string): TakeoverStep[] {
  const stripInjection = { metadata: { annotations: { "cert-manager.io/inject-ca-from": null } } };
  return [
    {
      ref: { apiVersion: "cert-manager.io/v1", kind: "Certificate", namespace, name: "scone-serving-cert" },
      action: { type: "delete" },
      why: "cert-manager would keep overwriting webhook-server-cert",
    },
    {
      ref: { apiVersion: "cert-manager.io/v1", kind: "Issuer", namespace, name: "scone-selfsigned-issuer" },
      action: { type: "delete" },
      why: "only the upstream Certificate used it",
    },
    {
      ref: { apiVersion: "v1", kind: "Secret", namespace, name: WEBHOOK_CERT_SECRET },
      action: { type: "delete" },
      why: "issued by cert-manager; the operator issues its own (its CA key is not in this Secret)",
    },
    {
      ref: { apiVersion: "apps/v1", kind: "Deployment", namespace, name: DEPLOYMENT_NAME },
      action: { type: "delete" },
      why: "fields of the upstream pod (command, cert volume, no service-account token) would survive an apply",
    },
    {
      ref: { apiVersion: "v1", kind: "ConfigMap", namespace, name: "scone-manager-config" },
      action: { type: "delete" },
      why: "controller-runtime configuration scone does not read",
    },
    ...[
      { kind: "MutatingWebhookConfiguration", name: mutatingWebhookConfigurationName(namespace) },
      { kind: "ValidatingWebhookConfiguration", name: validatingWebhookConfigurationName(namespace) },
    ].map(
      (c): TakeoverStep => ({
        ref: { apiVersion: "admissionregistration.k8s.io/v1", ...c },
        action: { type: "patch", mergePatch: stripInjection },
        why: "cert-manager's CA injector would overwrite the operator's caBundle",
      }),
    ),
  ];
}
