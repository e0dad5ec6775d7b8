// Everything `scone operator install` applies and `scone manifests operator` prints (the CRDs come from
// src/resources/crds.ts and are applied first). Pure: options in, objects out, in the order they must be applied.
import type { KubeObject } from "../kube/types.ts";
import { SCONE_VERSION } from "../version.ts";
import { renderApiDeployment, renderApiService } from "./api.ts";
import { renderBackupClaim } from "./backup-claim.ts";
import { renderMetricsReaderRole, renderMonitoring } from "./monitoring.ts";
import { renderDeployment, renderNamespace, renderServiceAccount, renderServices } from "./operator.ts";
import { type InstallOptions, resolveInstallOptions } from "./options.ts";
import { renderRbac } from "./rbac.ts";
import { renderWebhookConfigurations } from "./webhook-configurations.ts";

/** Labels on every installed object, so `kubectl get all -l app.kubernetes.io/part-of=scone` finds them. */
export function installLabels(version: string): Record<string, string> {
  return {
    "app.kubernetes.io/part-of": "scone",
    "app.kubernetes.io/managed-by": "scone",
    "app.kubernetes.io/version": version,
  };
}

export function renderInstallManifests(opts: InstallOptions = {}): KubeObject[] {
  const o = resolveInstallOptions(opts);
  const labels = installLabels(o.version);
  const inCluster = o.webhook.mode === "service";
  return [
    renderNamespace(o, labels),
    renderServiceAccount(o, labels),
    // Token reviews only for a server that takes bearer tokens: the API (--with-api) or /metrics (--metrics-secure).
    ...renderRbac(o.namespace, labels, { localOperator: !inCluster, tokenReviews: o.withApi || o.metricsSecure }),
    // With url-mode webhooks the operator is a local process: no pod to run, no Service to route to.
    ...(inCluster
      ? [
          ...renderServices(o, labels),
          renderBackupClaim(o.namespace, o.backupClaim, labels),
          renderDeployment(o, labels),
          ...(o.withApi ? [renderApiService(o, labels), renderApiDeployment(o, labels)] : []),
        ]
      : []),
    ...renderWebhookConfigurations(o, labels),
    // Whoever scrapes a --metrics-secure operator needs this role bound to its ServiceAccount.
    ...(o.metricsSecure ? [renderMetricsReaderRole(o.namespace, labels)] : []),
    ...(o.monitoring ? renderMonitoring(o.namespace, labels, { inCluster, metricsSecure: o.metricsSecure }) : []),
  ];
}

/** Multi-document YAML of `objects`, each starting with `---` (ready for `kubectl apply --server-side -f -`). */
export function toYamlDocuments(objects: readonly unknown[]): string {
  // Loaded here, not at module top: the CLI's fast paths must not pay for the YAML library.
  const { stringify } = require("yaml") as typeof import("yaml");
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join("");
}

export function renderInstallYaml(opts: InstallOptions = {}): string {
  return `# scone ${SCONE_VERSION}: operator manifests\n${toYamlDocuments(renderInstallManifests(opts))}`;
}
