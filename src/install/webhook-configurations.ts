// The Mutating/ValidatingWebhookConfiguration objects. caBundle is left out: the operator fills it from its own CA
// (src/operator/certs/ca-bundle.ts), so re-applying these manifests never resets it (server-side apply leaves
// fields owned by another manager alone).
import type {
  V1MutatingWebhook,
  V1MutatingWebhookConfiguration,
  V1ValidatingWebhook,
  V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import type { WebhookEndpoint } from "../operator/webhooks/endpoints.ts";
import { MUTATING_ENDPOINTS, VALIDATING_ENDPOINTS } from "../operator/webhooks/endpoints.ts";
import { mutatingWebhookConfigurationName, validatingWebhookConfigurationName, WEBHOOK_SERVICE_NAME } from "./names.ts";
import type { ResolvedInstallOptions } from "./options.ts";

/** The API server waits this long for an answer (the maximum is 30; upstream default 10). */
export const WEBHOOK_TIMEOUT_SECONDS = 10;

type ClientConfig = V1MutatingWebhook["clientConfig"];

function clientConfigOf(o: ResolvedInstallOptions, path: string): ClientConfig {
  if (o.webhook.mode === "url") {
    const host = o.webhook.host.includes(":") ? `[${o.webhook.host}]` : o.webhook.host;
    return { url: `https://${host}:${o.webhook.port}${path}` };
  }
  return { service: { name: WEBHOOK_SERVICE_NAME, namespace: o.namespace, path, port: 443 } };
}

function webhookOf(o: ResolvedInstallOptions, e: WebhookEndpoint): V1ValidatingWebhook {
  return {
    name: e.name,
    admissionReviewVersions: ["v1"],
    clientConfig: clientConfigOf(o, e.path),
    failurePolicy: "Fail",
    matchPolicy: "Equivalent",
    sideEffects: "None",
    timeoutSeconds: WEBHOOK_TIMEOUT_SECONDS,
    rules: [
      {
        apiGroups: [e.group],
        apiVersions: [e.version],
        operations: ["CREATE", "UPDATE"],
        resources: [e.resource],
        scope: "*",
      },
    ],
    ...(o.webhookObjectSelector ? { objectSelector: { matchLabels: { ...o.webhookObjectSelector } } } : {}),
  };
}

export function renderWebhookConfigurations(
  o: ResolvedInstallOptions,
  labels: Record<string, string>,
): [V1MutatingWebhookConfiguration, V1ValidatingWebhookConfiguration] {
  return [
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "MutatingWebhookConfiguration",
      metadata: { name: mutatingWebhookConfigurationName(o.namespace), labels: { ...labels } },
      webhooks: MUTATING_ENDPOINTS.map((e) => ({ ...webhookOf(o, e), reinvocationPolicy: "Never" })),
    },
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: validatingWebhookConfigurationName(o.namespace), labels: { ...labels } },
      webhooks: VALIDATING_ENDPOINTS.map((e) => webhookOf(o, e)),
    },
  ];
}
