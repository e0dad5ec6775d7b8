// The admission webhooks of a test suite on the shared cluster: served in-process (URL mode), with webhook
// configurations named after the suite's own operator namespace and an objectSelector on a label only the suite's
// objects carry, so other files' objects are not admitted by them (and objects without the label are admitted by
// no webhook at all: what a cluster whose operator is down looks like to them).

import { renderInstallManifests } from "../../src/install/manifests.ts";
import type { KubeClient } from "../../src/kube/client.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import type { Logger } from "../../src/log.ts";
import type { MetricsRegistry } from "../../src/metrics/registry.ts";
import type { ReadinessChecks } from "../../src/operator/health.ts";
import { type RunningWebhooks, startWebhooks, type WebhooksOptions } from "../../src/operator/webhooks/run.ts";
import { waitFor } from "./kube.ts";

export const LAS_API = "base.scone.cloud/v1beta1";
export const CAS_API = "services.scone.cloud/v1beta1";

export interface SuiteWebhooks {
  readonly webhooks: RunningWebhooks;
  /** The Mutating- and ValidatingWebhookConfiguration, as applied. */
  readonly configs: KubeObject[];
  /** caBundle of a configuration when all its webhooks carry the same one. */
  caBundleOf(kind: string, name: string): Promise<string | undefined>;
  /** Deletes the configurations, then stops serving (each step runs even when one fails). */
  stop(): Promise<void>;
}

/**
 * Serves the webhooks for operator namespace `suite` (which must exist), applies the configurations limited to
 * objects labelled `labelKey=suite`, and returns once the API server calls both the mutating and the validating one.
 */
export async function startSuiteWebhooks(
  admin: KubeClient,
  suite: string,
  labelKey: string,
  opts: { log: Logger; readiness?: ReadinessChecks; metrics?: MetricsRegistry; extra?: Partial<WebhooksOptions> },
): Promise<SuiteWebhooks> {
  const labels = { [labelKey]: suite };
  const webhooks = await startWebhooks(
    {
      client: admin,
      log: opts.log,
      operatorNamespace: suite,
      serviceVersion: "6.0.6",
      ...(opts.readiness
        ? { manager: { readiness: opts.readiness, ...(opts.metrics ? { metrics: opts.metrics } : {}) } }
        : {}),
    },
    { port: 0, mode: "url", host: "127.0.0.1", instanceLabelSelector: `${labelKey}=${suite}`, ...opts.extra },
  );
  await webhooks.serving;
  const configs = renderInstallManifests({
    namespace: suite,
    version: "6.0.6",
    webhook: { mode: "url", host: "127.0.0.1", port: webhooks.port },
    webhookObjectSelector: labels,
  }).filter((o) => o.kind?.endsWith("WebhookConfiguration"));
  const caBundleOf = async (kind: string, name: string): Promise<string | undefined> => {
    const c = await admin.tryGet<KubeObject & { webhooks?: { clientConfig?: { caBundle?: string } }[] }>({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind,
      name,
    });
    const bundles = new Set((c?.webhooks ?? []).map((w) => w.clientConfig?.caBundle ?? ""));
    return bundles.size === 1 ? [...bundles][0] || undefined : undefined;
  };
  const stop = async () => {
    for (const c of configs)
      await admin
        .deleteIfExists({ apiVersion: c.apiVersion ?? "", kind: c.kind ?? "", name: c.metadata?.name ?? "" })
        .catch((e: unknown) => console.error(`deleting ${c.metadata?.name} failed: ${e}`));
    await webhooks.stop();
  };
  try {
    for (const c of configs) await admin.apply(c);
    // The keeper sees the new configurations (watch) and fills in caBundle.
    for (const c of configs)
      await waitFor(`caBundle of ${c.metadata?.name}`, () => caBundleOf(c.kind ?? "", c.metadata?.name ?? ""));
    // The API server picks configurations up asynchronously: wait until a dry-run create is mutated.
    await waitFor("the API server to call the mutating webhook", async () => {
      const probe = await admin.create<KubeObject & { spec?: { image?: string } }>(
        { apiVersion: LAS_API, kind: "LAS", metadata: { name: `${suite}-probe`, labels }, spec: {} },
        { dryRun: true },
      );
      return probe.spec?.image !== undefined;
    });
    // ... and, on its own (each configuration is picked up separately), the validating one: a dry-run create that
    // only our validating webhook refuses.
    await waitFor("the API server to call the validating webhook", async () => {
      const refused = await admin
        .create(
          {
            apiVersion: CAS_API,
            kind: "CAS",
            metadata: { name: `${suite}-probe`, namespace: suite, labels },
            spec: { "backup-controller": { enabled: true } },
          },
          { dryRun: true },
        )
        .then(
          () => false,
          (err: unknown) => String(err).includes("vcas.kb.io"),
        );
      return refused || undefined;
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { webhooks, configs, caBundleOf, stop };
}
