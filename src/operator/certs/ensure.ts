// Makes the webhook Secrets hold usable certificates: creates them when missing, renews what is due, and moves a
// CA key an older scone kept in `webhook-server-cert` to `scone-webhook-ca`.
// Several replicas may race here: writes carry the resourceVersion read (or are creates), and the loser re-reads
// and adopts what the winner wrote, so every replica ends up serving the same certificate. The CA Secret is
// written first: a serving Secret never names a CA whose key is not stored.
import type { V1Secret } from "@kubernetes/client-node";
import type { KubeClient } from "../../kube/client.ts";
import { ConflictError } from "../../kube/errors.ts";
import type { Logger } from "../../log.ts";
import type { SubjectAltNames } from "./pki.ts";
import {
  assess,
  caSecretOf,
  pemsOfSecrets,
  renew,
  sameSecretData,
  secretOf,
  WEBHOOK_CA_SECRET,
  WEBHOOK_CERT_SECRET,
  type WebhookCertificates,
} from "./secret.ts";

export interface EnsureCertificatesOptions {
  readonly namespace: string;
  readonly sans: SubjectAltNames;
  readonly now?: () => Date;
  readonly log?: Logger;
}

export interface EnsureResult {
  readonly certificates: WebhookCertificates;
  /** What was written: nothing (steady state), a new Secret, or renewed certificates. */
  readonly action: "kept" | "created" | "renewed";
}

const MAX_ATTEMPTS = 4;

async function write(client: KubeClient, stored: V1Secret | undefined, wanted: V1Secret): Promise<boolean> {
  if (sameSecretData(stored, wanted)) return false;
  if (stored) await client.replace(wanted);
  else await client.create(wanted);
  return true;
}

export async function ensureWebhookCertificates(
  client: KubeClient,
  opts: EnsureCertificatesOptions,
): Promise<EnsureResult> {
  const secretRef = (name: string) => ({ apiVersion: "v1", kind: "Secret", namespace: opts.namespace, name });
  for (let attempt = 1; ; attempt++) {
    const now = opts.now?.() ?? new Date();
    const secret = await client.tryGet<V1Secret>(secretRef(WEBHOOK_CERT_SECRET));
    const caSecret = await client.tryGet<V1Secret>(secretRef(WEBHOOK_CA_SECRET));
    const pems = pemsOfSecrets(secret, caSecret);
    const assessment = await assess(pems, now, opts.sans);
    const certificates = assessment.current ?? (await renew(pems, assessment, now, opts.sans));
    let wrote: boolean;
    try {
      const wroteCa = await write(client, caSecret, caSecretOf(opts.namespace, certificates.ca, caSecret));
      // Kept certificates with an unchanged serving Secret write nothing; a legacy ca.key is dropped here.
      const wroteServing = await write(client, secret, secretOf(opts.namespace, certificates, secret));
      wrote = wroteCa || wroteServing;
    } catch (e) {
      // Another replica wrote first: adopt its certificates on the next round.
      if (e instanceof ConflictError && attempt < MAX_ATTEMPTS) continue;
      throw e;
    }
    if (!wrote) return { certificates, action: "kept" };
    opts.log?.info(secret ? "renewed webhook certificates" : "created webhook certificates", {
      object: `${opts.namespace}/${WEBHOOK_CERT_SECRET}`,
      ...(assessment.plan.ca ? { caReason: assessment.plan.ca } : {}),
      ...(assessment.plan.serving ? { servingReason: assessment.plan.serving } : {}),
      renewAt: certificates.renewAt.toISOString(),
    });
    return { certificates, action: secret ? "renewed" : "created" };
  }
}
