// Makes the Secret `webhook-server-cert` hold usable certificates: creates it when missing, renews what is due.
// Several replicas may race here: writes carry the resourceVersion read (or are creates), and the loser re-reads
// and adopts what the winner wrote, so every replica ends up serving the same certificate.
import type { V1Secret } from "@kubernetes/client-node";
import type { KubeClient } from "../../kube/client.ts";
import { ConflictError } from "../../kube/errors.ts";
import type { Logger } from "../../log.ts";
import type { SubjectAltNames } from "./pki.ts";
import { assess, pemsOfSecret, renew, secretOf, WEBHOOK_CERT_SECRET, type WebhookCertificates } from "./secret.ts";

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

export async function ensureWebhookCertificates(
  client: KubeClient,
  opts: EnsureCertificatesOptions,
): Promise<EnsureResult> {
  const ref = { apiVersion: "v1", kind: "Secret", namespace: opts.namespace, name: WEBHOOK_CERT_SECRET };
  for (let attempt = 1; ; attempt++) {
    const now = opts.now?.() ?? new Date();
    const secret = await client.tryGet<V1Secret>(ref);
    const pems = pemsOfSecret(secret);
    const assessment = await assess(pems, now, opts.sans);
    if (assessment.current) return { certificates: assessment.current, action: "kept" };
    const certificates = await renew(pems, assessment, now, opts.sans);
    try {
      if (secret) {
        await client.replace(secretOf(opts.namespace, certificates, secret));
      } else {
        await client.create(secretOf(opts.namespace, certificates));
      }
    } catch (e) {
      // Another replica wrote first: adopt its certificates on the next round.
      if (e instanceof ConflictError && attempt < MAX_ATTEMPTS) continue;
      throw e;
    }
    opts.log?.info(secret ? "renewed webhook certificates" : "created webhook certificates", {
      object: `${opts.namespace}/${WEBHOOK_CERT_SECRET}`,
      ...(assessment.plan.ca ? { caReason: assessment.plan.ca } : {}),
      ...(assessment.plan.serving ? { servingReason: assessment.plan.serving } : {}),
      renewAt: certificates.renewAt.toISOString(),
    });
    return { certificates, action: secret ? "renewed" : "created" };
  }
}
