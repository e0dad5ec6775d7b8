// The pieces the webhooks are wired from: the HTTPS server with the admission handlers, and the caches whose
// changes (another replica's renewal, a re-applied configuration) call for a certificate check at once.
import type { KubeClient } from "../../kube/client.ts";
import { clientListWatch, Informer, type InformerScope } from "../../kube/informer.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { Logger } from "../../log.ts";
import { namespaceLabelsReader } from "../admission/namespace.ts";
import { defaultAdmissionPolicy } from "../admission/policy.ts";
import type { CaBundleTarget } from "../certs/ca-bundle.ts";
import { WEBHOOK_CERT_SECRET } from "../certs/secret.ts";
import { admissionDispatcher } from "./dispatch.ts";
import type { WebhookKind } from "./endpoints.ts";
import type { ExistingObject } from "./handlers.ts";
import { webhookFetchHandler } from "./http.ts";
import type { WebhooksContext, WebhooksOptions } from "./options.ts";
import { bindHostname } from "./plan.ts";
import { WebhookServer } from "./server.ts";

const randomNonce = (): string => Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");

/** The objects of a kind that count for the one-per-cluster rule (those the configurations' objectSelector sends). */
const existingObjects =
  (client: KubeClient, labelSelector: string | undefined) =>
  async (kind: WebhookKind): Promise<readonly ExistingObject[]> => {
    const list = await client.list({ apiVersion: "base.scone.cloud/v1beta1", kind }, { labelSelector });
    return list.items.map((o) => ({
      name: o.metadata?.name ?? "",
      terminating: o.metadata?.deletionTimestamp != null,
    }));
  };

/** The HTTPS server of the admission handlers (not listening yet: the first certificate starts it). */
export function admissionServer(ctx: WebhooksContext, opts: WebhooksOptions, log: Logger): WebhookServer {
  const handle = admissionDispatcher({
    listExisting: existingObjects(ctx.client, opts.instanceLabelSelector),
    policy: opts.policy ?? defaultAdmissionPolicy(opts.imageRepo),
    namespaceLabels: namespaceLabelsReader(ctx.client),
    defaults: {
      serviceVersion: ctx.serviceVersion,
      operatorNamespace: ctx.operatorNamespace,
      newNonce: randomNonce,
      ...(opts.imageRepo ? { imageRepo: opts.imageRepo } : {}),
      ...(opts.imagePrefix ? { imagePrefix: opts.imagePrefix } : {}),
      ...(opts.imageDigests ? { imageDigests: opts.imageDigests } : {}),
    },
  });
  return new WebhookServer({
    port: opts.port,
    hostname: bindHostname(opts),
    fetch: webhookFetchHandler({ log, handle }),
    log,
  });
}

/** The certificate Secret and both webhook configurations, each watched by name. */
export function certificateWatches(
  client: KubeClient,
  namespace: string,
  targets: readonly CaBundleTarget[],
  log: Logger,
): Informer<KubeObject>[] {
  const byName = (name: string, scope: InformerScope) =>
    new Informer<KubeObject>(clientListWatch(client, scope), { name, logger: log, stripManagedFields: true });
  return [
    byName("webhook-cert-secret", {
      type: { apiVersion: "v1", kind: "Secret" },
      namespace,
      fieldSelector: `metadata.name=${WEBHOOK_CERT_SECRET}`,
    }),
    ...targets.map((t) => byName(t.kind, { type: t, fieldSelector: `metadata.name=${t.name}` })),
  ];
}
