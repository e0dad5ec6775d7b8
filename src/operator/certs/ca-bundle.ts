// Keeps `caBundle` of the operator's webhook configurations equal to the CA the webhook certificate comes from,
// the job cert-manager's CA injector did upstream. Writes only what differs, so a steady state writes nothing.
import type { KubeClient } from "../../kube/client.ts";
import { NotFoundError } from "../../kube/errors.ts";
import type { Logger } from "../../log.ts";

/** The part of a Mutating/ValidatingWebhookConfiguration this module reads. */
export interface WebhookConfigurationLike {
  metadata?: { name?: string; resourceVersion?: string };
  webhooks?: { name: string; clientConfig?: { caBundle?: string } }[];
}

export type JsonPatchOp =
  | { op: "test"; path: string; value: unknown }
  | { op: "add" | "replace"; path: string; value: unknown };

/**
 * JSON Patch setting every webhook's caBundle to `caBundleB64`; empty when all are current. Each change is guarded
 * by a `test` of the webhook's name, so a configuration reordered meanwhile makes the patch fail instead of
 * writing the bundle into the wrong webhook.
 */
export function caBundlePatch(config: WebhookConfigurationLike, caBundleB64: string): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  (config.webhooks ?? []).forEach((webhook, i) => {
    if (webhook.clientConfig?.caBundle === caBundleB64) return;
    ops.push({ op: "test", path: `/webhooks/${i}/name`, value: webhook.name });
    if (webhook.clientConfig === undefined) {
      ops.push({ op: "add", path: `/webhooks/${i}/clientConfig`, value: { caBundle: caBundleB64 } });
    } else {
      ops.push({ op: "add", path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundleB64 });
    }
  });
  return ops;
}

export interface CaBundleTarget {
  readonly apiVersion: "admissionregistration.k8s.io/v1";
  readonly kind: "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration";
  readonly name: string;
}

export interface CaBundleSyncResult {
  /** Configurations whose caBundle was written. */
  readonly patched: string[];
  /** Configurations that do not exist (not installed yet, or uninstalled). */
  readonly missing: string[];
}

export function caBundleTargets(names: { mutating: string; validating: string }): CaBundleTarget[] {
  return [
    { apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration", name: names.mutating },
    { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", name: names.validating },
  ];
}

/** Reads each target and patches those whose caBundle differs. */
export async function syncCaBundles(
  client: KubeClient,
  targets: readonly CaBundleTarget[],
  caBundlePem: string,
  log?: Logger,
): Promise<CaBundleSyncResult> {
  const caBundleB64 = Buffer.from(caBundlePem, "utf8").toString("base64");
  const patched: string[] = [];
  const missing: string[] = [];
  for (const target of targets) {
    const config = await client.tryGet<WebhookConfigurationLike & { apiVersion?: string; kind?: string }>(target);
    if (!config) {
      missing.push(target.name);
      continue;
    }
    const ops = caBundlePatch(config, caBundleB64);
    if (ops.length === 0) continue;
    try {
      await client.patch(target, ops, "json");
    } catch (e) {
      if (e instanceof NotFoundError) {
        missing.push(target.name);
        continue;
      }
      throw e;
    }
    patched.push(target.name);
    log?.info("updated caBundle", { kind: target.kind, name: target.name, webhooks: ops.length / 2 });
  }
  return { patched, missing };
}
