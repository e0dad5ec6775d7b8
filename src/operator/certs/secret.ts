// The Secret `webhook-server-cert` that holds the webhook certificates, and the decision of what to put in it.
// Layout: tls.crt / tls.key (serving pair, as kubernetes.io/tls wants), ca.crt (the CA bundle clients trust: the
// current CA first), ca.key (the CA's key, so renewing the serving certificate does not change caBundle).
import type { V1Secret } from "@kubernetes/client-node";
import {
  type CertInfo,
  createCa,
  createServingCert,
  isSignedBy,
  keyMatchesCert,
  type PemPair,
  readCertInfo,
  type SubjectAltNames,
  splitPemBundle,
} from "./pki.ts";
import { nextCaBundle, planRenewal, type RenewalPlan, renewalTime } from "./renewal.ts";

/** Upstream's name (cert-manager wrote it there); the chart mounted it into the manager pod. */
export const WEBHOOK_CERT_SECRET = "webhook-server-cert";
export const CA_COMMON_NAME = "scone-webhook-ca";
export const RENEW_AFTER_ANNOTATION = "scone.cloud/renew-after";
export const NOT_AFTER_ANNOTATION = "scone.cloud/not-after";

/** The certificates as the webhook server and the caBundle keeper use them. */
export interface WebhookCertificates {
  readonly ca: PemPair;
  /** Every CA clients should trust (PEM, current CA first). */
  readonly caBundlePem: string;
  readonly serving: PemPair;
  /** When the serving certificate (or the CA, if sooner) is due for renewal. */
  readonly renewAt: Date;
}

const decode = (b64: string | undefined): string | undefined =>
  b64 === undefined ? undefined : Buffer.from(b64, "base64").toString("utf8");
const encode = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/** The PEM texts stored in a Secret (any of them may be missing). */
export interface StoredPems {
  readonly caBundle?: string;
  readonly caKey?: string;
  readonly cert?: string;
  readonly key?: string;
}

export function pemsOfSecret(secret: V1Secret | undefined): StoredPems {
  const data = secret?.data ?? {};
  const pems: { -readonly [K in keyof StoredPems]: StoredPems[K] } = {};
  const caBundle = decode(data["ca.crt"]);
  const caKey = decode(data["ca.key"]);
  const cert = decode(data["tls.crt"]);
  const key = decode(data["tls.key"]);
  if (caBundle) pems.caBundle = caBundle;
  if (caKey) pems.caKey = caKey;
  if (cert) pems.cert = cert;
  if (key) pems.key = key;
  return pems;
}

export function secretOf(namespace: string, certs: WebhookCertificates, base?: V1Secret): V1Secret {
  const servingInfo = readCertInfo(certs.serving.certPem);
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      ...(base?.metadata ?? {}),
      name: WEBHOOK_CERT_SECRET,
      namespace,
      labels: { ...(base?.metadata?.labels ?? {}), "app.kubernetes.io/managed-by": "scone" },
      annotations: {
        ...(base?.metadata?.annotations ?? {}),
        [RENEW_AFTER_ANNOTATION]: certs.renewAt.toISOString(),
        ...(servingInfo ? { [NOT_AFTER_ANNOTATION]: servingInfo.notAfter.toISOString() } : {}),
      },
    },
    type: "kubernetes.io/tls",
    data: {
      "ca.crt": encode(certs.caBundlePem),
      "ca.key": encode(certs.ca.keyPem),
      "tls.crt": encode(certs.serving.certPem),
      "tls.key": encode(certs.serving.keyPem),
    },
  };
}

/** The stored certificates, checked: which are usable and which must be replaced. */
export interface Assessment {
  readonly plan: RenewalPlan;
  /** Present when nothing must be replaced. */
  readonly current?: WebhookCertificates;
  readonly caInfo: CertInfo | undefined;
}

/** Looks at what is stored and decides (key checks are async: they sign and verify). */
export async function assess(pems: StoredPems, now: Date, sans: SubjectAltNames): Promise<Assessment> {
  const caPem = pems.caBundle ? splitPemBundle(pems.caBundle)[0] : undefined;
  const caInfo = caPem ? readCertInfo(caPem) : undefined;
  const ca = caPem
    ? { info: caInfo, keyMatches: pems.caKey !== undefined && (await keyMatchesCert(pems.caKey, caPem)) }
    : undefined;
  const servingInfo = pems.cert ? readCertInfo(pems.cert) : undefined;
  const serving =
    pems.cert !== undefined
      ? {
          info: servingInfo,
          keyMatches: pems.key !== undefined && (await keyMatchesCert(pems.key, pems.cert)),
          signedByCa: caPem !== undefined && (await isSignedBy(pems.cert, caPem)),
        }
      : undefined;
  const plan = planRenewal({ ca, serving }, now, sans);
  if (plan.ca || plan.serving || !caPem || !caInfo || !servingInfo || !pems.caKey || !pems.cert || !pems.key) {
    return { plan, caInfo };
  }
  return {
    plan,
    caInfo,
    current: {
      ca: { certPem: caPem, keyPem: pems.caKey },
      caBundlePem: pems.caBundle ?? caPem,
      serving: { certPem: pems.cert, keyPem: pems.key },
      renewAt: earliest(renewalTime(servingInfo), renewalTime(caInfo)),
    },
  };
}

const earliest = (a: Date, b: Date): Date => (a.getTime() <= b.getTime() ? a : b);

/** Issues what the plan says must be replaced, keeping the rest. */
export async function renew(
  pems: StoredPems,
  assessment: Assessment,
  now: Date,
  sans: SubjectAltNames,
): Promise<WebhookCertificates> {
  const { plan } = assessment;
  let ca: PemPair;
  let caBundlePem: string;
  let caInfo: CertInfo | undefined;
  if (plan.ca) {
    ca = await createCa(CA_COMMON_NAME, { now });
    caInfo = readCertInfo(ca.certPem);
    // Keep trusting the old CA only on a planned rotation; a broken or mismatched CA is dropped at once.
    const previous =
      plan.ca === "due for renewal" && pems.caBundle
        ? splitPemBundle(pems.caBundle).map((pem) => ({ pem, info: readCertInfo(pem) }))
        : [];
    caBundlePem = nextCaBundle(ca.certPem, previous, now);
  } else {
    const caPem = splitPemBundle(pems.caBundle ?? "")[0] ?? "";
    ca = { certPem: caPem, keyPem: pems.caKey ?? "" };
    caInfo = assessment.caInfo;
    caBundlePem = pems.caBundle ?? caPem;
  }
  const serving =
    plan.serving || !pems.cert || !pems.key
      ? await createServingCert(ca, sans, { now })
      : { certPem: pems.cert, keyPem: pems.key };
  const servingInfo = readCertInfo(serving.certPem);
  const renewAt =
    servingInfo && caInfo ? earliest(renewalTime(servingInfo), renewalTime(caInfo)) : new Date(now.getTime());
  return { ca, caBundlePem, serving, renewAt };
}
