// The reconcile of the webhooks' certificates, one round: ensure the certificate Secret (create or renew) → publish
// its CA in both webhook configurations' caBundle → serve the certificate → report (state, expiry gauge). The order
// is the point: the API server trusts the new CA before the certificate it signs is presented.
import type { KubeClient } from "../../kube/client.ts";
import type { Logger } from "../../log.ts";
import { type CaBundleTarget, syncCaBundles } from "../certs/ca-bundle.ts";
import { ensureWebhookCertificates } from "../certs/ensure.ts";
import { type PemPair, readCertInfo, type SubjectAltNames } from "../certs/pki.ts";
import type { WebhookCertificates } from "../certs/secret.ts";
import { missingConfigurations } from "./plan.ts";

/** The listener the certificate goes to (WebhookServer). */
export interface ServingEndpoint {
  readonly listening: boolean;
  start(tls: PemPair): void;
  swapCertificate(tls: PemPair): void;
}

export interface CertificateDeps {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly sans: SubjectAltNames;
  readonly targets: readonly CaBundleTarget[];
  readonly server: ServingEndpoint;
  readonly now: () => Date;
  readonly log: Logger;
  /** Called when the server first listens. */
  readonly onServing: () => void;
  /** The serving certificate's expiry, in Unix seconds (the scone_webhook_certificate_expiry gauge). */
  readonly reportExpiry: (unixSeconds: number) => void;
}

/** What the rounds remember: the certificates served, their expiry, the last outcome and the last warning. */
export interface CertificateState {
  certificates: WebhookCertificates | undefined;
  servingNotAfterMs: number;
  missingReported: string;
  lastError: string | undefined;
  failures: number;
}

export const initialCertificateState = (): CertificateState => ({
  certificates: undefined,
  servingNotAfterMs: Number.POSITIVE_INFINITY,
  missingReported: "",
  lastError: "not started",
  failures: 0,
});

/** Both configurations' caBundle; a newly missing configuration is warned about once. */
async function publishCaBundle(d: CertificateDeps, s: CertificateState, caBundlePem: string): Promise<void> {
  const { missing } = await syncCaBundles(d.client, d.targets, caBundlePem, d.log);
  const { key, warn } = missingConfigurations(missing, s.missingReported);
  if (warn)
    d.log.warn("webhook configurations not found; install them (scone operator install) for admission to work", {
      missing,
    });
  s.missingReported = key;
}

/** The served certificate: swapped in a running server, else the server starts with it. */
function serve(d: CertificateDeps, serving: PemPair): void {
  if (d.server.listening) {
    d.server.swapCertificate(serving);
    return;
  }
  d.server.start(serving);
  d.onServing();
}

function report(d: CertificateDeps, s: CertificateState, certificates: WebhookCertificates): void {
  s.certificates = certificates;
  s.servingNotAfterMs = readCertInfo(certificates.serving.certPem)?.notAfter.getTime() ?? 0;
  d.reportExpiry(Math.floor(s.servingNotAfterMs / 1000));
}

/** One round: Secret, then caBundle, then the served certificate, then the report. Throws what failed. */
export async function reconcileCertificates(d: CertificateDeps, s: CertificateState): Promise<void> {
  const { certificates } = await ensureWebhookCertificates(d.client, {
    namespace: d.namespace,
    sans: d.sans,
    now: d.now,
    log: d.log,
  });
  await publishCaBundle(d, s, certificates.caBundlePem);
  serve(d, certificates.serving);
  report(d, s, certificates);
}

/** A round whose failure is recorded in the state (and logged) instead of thrown: the next one retries. */
export async function attemptCertificates(d: CertificateDeps, s: CertificateState): Promise<void> {
  try {
    await reconcileCertificates(d, s);
    s.lastError = undefined;
    s.failures = 0;
  } catch (e) {
    s.failures++;
    s.lastError = e instanceof Error ? e.message : String(e);
    d.log.warn("webhook certificate check failed; retrying", { error: s.lastError, attempt: s.failures });
  }
}
