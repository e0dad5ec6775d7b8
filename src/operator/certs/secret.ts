// The Secrets that hold the webhook certificates, and the decision of what to put in them.
// `webhook-server-cert` (kubernetes.io/tls): tls.crt / tls.key (the serving pair) and ca.crt (the CA bundle clients
// trust, current CA first). `scone-webhook-ca` (Opaque): ca.crt / ca.key, the CA that signs the serving certificate.
// The CA key is kept apart so that whatever is given the serving pair (a mount, a copy, a backup of that Secret)
// cannot mint certificates; it is persisted at all so renewing the serving certificate leaves caBundle alone.
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
/** The webhook CA's certificate and key; only the operator reads it. */
export const WEBHOOK_CA_SECRET = "scone-webhook-ca";
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

/** The PEM texts stored in the two Secrets (any of them may be missing). */
export interface StoredPems {
  /** ca.crt of the serving Secret: the bundle clients trust. */
  readonly caBundle?: string;
  /** The CA certificate whose key is caKey. */
  readonly caCert?: string;
  readonly caKey?: string;
  readonly cert?: string;
  readonly key?: string;
}

/**
 * What the serving Secret and the CA Secret hold. A serving Secret written by an older scone carries the CA key
 * itself (ca.key, with the CA at the head of ca.crt): that CA is adopted until it is moved to the CA Secret.
 */
export function pemsOfSecrets(serving: V1Secret | undefined, caSecret: V1Secret | undefined): StoredPems {
  const data = serving?.data ?? {};
  const caData = caSecret?.data ?? {};
  const pems: { -readonly [K in keyof StoredPems]: StoredPems[K] } = {};
  const caBundle = decode(data["ca.crt"]);
  const cert = decode(data["tls.crt"]);
  const key = decode(data["tls.key"]);
  let caCert = decode(caData["ca.crt"]);
  let caKey = decode(caData["ca.key"]);
  if (!caCert || !caKey) {
    caCert = caBundle ? splitPemBundle(caBundle)[0] : undefined;
    caKey = decode(data["ca.key"]);
  }
  if (caBundle) pems.caBundle = caBundle;
  if (caCert) pems.caCert = caCert;
  if (caKey) pems.caKey = caKey;
  if (cert) pems.cert = cert;
  if (key) pems.key = key;
  return pems;
}

function managedMetadata(name: string, namespace: string, base: V1Secret | undefined, annotations = {}) {
  return {
    ...(base?.metadata ?? {}),
    name,
    namespace,
    labels: { ...(base?.metadata?.labels ?? {}), "app.kubernetes.io/managed-by": "scone" },
    annotations: { ...(base?.metadata?.annotations ?? {}), ...annotations },
  };
}

/** The serving Secret: the serving pair and the CA bundle, never the CA key. */
export function secretOf(namespace: string, certs: WebhookCertificates, base?: V1Secret): V1Secret {
  const servingInfo = readCertInfo(certs.serving.certPem);
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: managedMetadata(WEBHOOK_CERT_SECRET, namespace, base, {
      [RENEW_AFTER_ANNOTATION]: certs.renewAt.toISOString(),
      ...(servingInfo ? { [NOT_AFTER_ANNOTATION]: servingInfo.notAfter.toISOString() } : {}),
    }),
    type: "kubernetes.io/tls",
    data: {
      "ca.crt": encode(certs.caBundlePem),
      "tls.crt": encode(certs.serving.certPem),
      "tls.key": encode(certs.serving.keyPem),
    },
  };
}

/** The CA Secret: the CA certificate and its key. */
export function caSecretOf(namespace: string, ca: PemPair, base?: V1Secret): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: managedMetadata(WEBHOOK_CA_SECRET, namespace, base),
    type: "Opaque",
    data: { "ca.crt": encode(ca.certPem), "ca.key": encode(ca.keyPem) },
  };
}

/** Whether `stored` already holds exactly the data of `wanted` (so writing it would change nothing). */
export function sameSecretData(stored: V1Secret | undefined, wanted: V1Secret): boolean {
  const a = stored?.data ?? {};
  const b = wanted.data ?? {};
  const keys = Object.keys(b);
  return (
    stored !== undefined &&
    stored.type === wanted.type &&
    Object.keys(a).length === keys.length &&
    keys.every((k) => a[k] === b[k])
  );
}

const samePem = (a: string | undefined, b: string | undefined): boolean =>
  a !== undefined && b !== undefined && a.trim() === b.trim();

/** The stored certificates, checked: which are usable and which must be replaced. */
export interface Assessment {
  readonly plan: RenewalPlan;
  /** Present when nothing must be replaced. */
  readonly current?: WebhookCertificates;
  readonly caInfo: CertInfo | undefined;
}

/** Looks at what is stored and decides (key checks are async: they sign and verify). */
export async function assess(pems: StoredPems, now: Date, sans: SubjectAltNames): Promise<Assessment> {
  const caPem = pems.caCert;
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
  const bundleHead = pems.caBundle ? splitPemBundle(pems.caBundle)[0] : undefined;
  // A bundle not led by the CA (another replica rotated the CA and has not written the serving Secret yet) is
  // rewritten, keeping the CAs it lists.
  const bundleCurrent = samePem(bundleHead, caPem);
  if (
    plan.ca ||
    plan.serving ||
    !bundleCurrent ||
    !caPem ||
    !caInfo ||
    !servingInfo ||
    !pems.caKey ||
    !pems.cert ||
    !pems.key
  ) {
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
    const caPem = pems.caCert ?? "";
    ca = { certPem: caPem, keyPem: pems.caKey ?? "" };
    caInfo = assessment.caInfo;
    const bundle = splitPemBundle(pems.caBundle ?? "");
    caBundlePem =
      pems.caBundle && samePem(bundle[0], caPem)
        ? pems.caBundle
        : nextCaBundle(
            caPem,
            bundle.filter((pem) => !samePem(pem, caPem)).map((pem) => ({ pem, info: readCertInfo(pem) })),
            now,
          );
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
