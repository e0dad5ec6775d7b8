// When the webhook certificates must be replaced. Pure: the caller parses the certificates and passes the clock.
import { API_SERVICE_NAME, WEBHOOK_SERVICE_NAME } from "../../install/names.ts";
import type { CertInfo, SubjectAltNames } from "./pki.ts";

/** Fraction of a certificate's lifetime after which it is renewed (cert-manager's default is 2/3 too). */
export const RENEW_AT_FRACTION = 2 / 3;

/**
 * The serving certificate's names: the webhook Service's and the API Service's DNS names (`--with-api` serves the
 * API with this certificate) plus any extra (e.g. 127.0.0.1 for local runs).
 */
export function webhookSans(namespace: string, extra: Partial<SubjectAltNames> = {}): SubjectAltNames {
  const service = `${WEBHOOK_SERVICE_NAME}.${namespace}.svc`;
  const api = `${API_SERVICE_NAME}.${namespace}.svc`;
  return {
    dns: unique([service, `${service}.cluster.local`, api, `${api}.cluster.local`, ...(extra.dns ?? [])]),
    ips: unique([...(extra.ips ?? [])]),
  };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** The moment a certificate should be replaced: RENEW_AT_FRACTION of the way from notBefore to notAfter. */
export function renewalTime(cert: Pick<CertInfo, "notBefore" | "notAfter">): Date {
  const start = cert.notBefore.getTime();
  return new Date(start + (cert.notAfter.getTime() - start) * RENEW_AT_FRACTION);
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => {
  const sa = new Set(a.map((v) => v.toLowerCase()));
  const sb = new Set(b.map((v) => v.toLowerCase()));
  return sa.size === sb.size && [...sa].every((v) => sb.has(v));
};

export function sameSans(a: SubjectAltNames, b: SubjectAltNames): boolean {
  return sameSet(a.dns, b.dns) && sameSet(a.ips, b.ips);
}

/** What is known about the CA currently stored. */
export interface StoredCa {
  readonly info: CertInfo | undefined;
  /** Whether the stored CA key belongs to the CA certificate. */
  readonly keyMatches: boolean;
}

/** What is known about the serving certificate currently stored. */
export interface StoredServing {
  readonly info: CertInfo | undefined;
  readonly keyMatches: boolean;
  /** Whether it was signed by the stored CA. */
  readonly signedByCa: boolean;
}

/** Why a certificate is replaced; undefined = keep it. */
export type RenewalReason =
  | "missing"
  | "unreadable"
  | "not a CA"
  | "key mismatch"
  | "not yet valid"
  | "expired"
  | "due for renewal"
  | "names changed"
  | "CA replaced"
  | "not signed by the CA";

/** Why the CA must be replaced, or undefined when it can stay. */
export function caRenewalReason(ca: StoredCa | undefined, now: Date): RenewalReason | undefined {
  if (!ca) return "missing";
  if (!ca.info) return "unreadable";
  if (!ca.info.isCa) return "not a CA";
  if (!ca.keyMatches) return "key mismatch";
  return timeReason(ca.info, now);
}

/** Why the serving certificate must be replaced (given whether the CA is replaced too), or undefined. */
export function servingRenewalReason(
  serving: StoredServing | undefined,
  now: Date,
  sans: SubjectAltNames,
  caReplaced: boolean,
): RenewalReason | undefined {
  if (caReplaced) return "CA replaced";
  if (!serving) return "missing";
  if (!serving.info) return "unreadable";
  if (!serving.keyMatches) return "key mismatch";
  if (!serving.signedByCa) return "not signed by the CA";
  if (!sameSans(serving.info.sans, sans)) return "names changed";
  return timeReason(serving.info, now);
}

function timeReason(info: CertInfo, now: Date): RenewalReason | undefined {
  const t = now.getTime();
  if (t < info.notBefore.getTime()) return "not yet valid";
  if (t >= info.notAfter.getTime()) return "expired";
  if (t >= renewalTime(info).getTime()) return "due for renewal";
  return undefined;
}

/** The plan for the stored certificates: which to replace and why. */
export interface RenewalPlan {
  readonly ca: RenewalReason | undefined;
  readonly serving: RenewalReason | undefined;
}

export function planRenewal(
  stored: { ca?: StoredCa; serving?: StoredServing },
  now: Date,
  sans: SubjectAltNames,
): RenewalPlan {
  const ca = caRenewalReason(stored.ca, now);
  return { ca, serving: servingRenewalReason(stored.serving, now, sans, ca !== undefined) };
}

/**
 * The CA bundle clients should trust after a CA change: the new CA, plus the previous one while it is still valid,
 * so a replica still serving a certificate from the old CA keeps working until it has swapped.
 */
export function nextCaBundle(
  newCaPem: string,
  previousCas: readonly { pem: string; info: CertInfo | undefined }[],
  now: Date,
): string {
  const kept = previousCas.filter((c) => c.info?.isCa === true && now.getTime() < c.info.notAfter.getTime());
  return [newCaPem, ...kept.map((c) => c.pem)].map((p) => `${p.trim()}\n`).join("");
}
