// The webhooks' decisions (pure): the serving certificate's names, the address to bind, when to check the
// certificate again, whether the webhooks are ready, and when a missing configuration is worth a warning.
import type { SubjectAltNames } from "../certs/pki.ts";
import { webhookSans } from "../certs/renewal.ts";
import type { CheckResult } from "../health.ts";
import type { WebhooksOptions } from "./options.ts";

export const DEFAULT_RECHECK_MS = 10 * 60 * 1000;
export const RETRY_MIN_MS = 2_000;
export const RETRY_MAX_MS = 5 * 60 * 1000;
/** The shortest wait between two checks after a success (a renewal time in the past must not spin). */
const MIN_RECHECK_MS = 1000;
const IPV4_OR_6 = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]+:[0-9a-f:]*)$/i;

type Mode = Pick<WebhooksOptions, "mode" | "host">;

/** The serving certificate's names for these options. */
export function sansFor(
  namespace: string,
  opts: Pick<WebhooksOptions, "mode" | "host" | "extraSans">,
): SubjectAltNames {
  const host = opts.mode === "url" ? (opts.host ?? "127.0.0.1") : undefined;
  const extraDns = [...(opts.extraSans?.dns ?? [])];
  const extraIps = [...(opts.extraSans?.ips ?? [])];
  if (host && host !== "0.0.0.0" && host !== "::") (IPV4_OR_6.test(host) ? extraIps : extraDns).push(host);
  return webhookSans(namespace, { dns: extraDns, ips: extraIps });
}

/** The address to listen on: the host given, else loopback for a local operator and every address in a pod. */
export const bindHostname = (opts: Mode): string => opts.host ?? (opts.mode === "url" ? "127.0.0.1" : "0.0.0.0");

/** How the last check went: its error (undefined: it succeeded), the failures in a row, the served renewal time. */
export interface CheckOutcome {
  readonly lastError: string | undefined;
  readonly failures: number;
  readonly renewAt: Date | undefined;
}

/**
 * When to check again: after a success at the renewal time or the re-check period, whichever is sooner (at least a
 * second); after a failure with doubling backoff from RETRY_MIN_MS up to RETRY_MAX_MS.
 */
export function nextCheckMs(outcome: CheckOutcome, now: Date, recheckMs = DEFAULT_RECHECK_MS): number {
  if (outcome.lastError !== undefined)
    return Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(Math.max(outcome.failures - 1, 0), 10));
  const untilRenewal = outcome.renewAt ? outcome.renewAt.getTime() - now.getTime() : 0;
  return Math.max(MIN_RECHECK_MS, Math.min(recheckMs, untilRenewal));
}

/** The "webhooks" readiness check: serving, with a certificate that has not expired. */
export function webhooksReadiness(
  s: { readonly listening: boolean; readonly lastError: string | undefined; readonly servingNotAfterMs: number },
  now: Date,
): CheckResult {
  if (!s.listening) return { ok: false, reason: s.lastError ?? "not serving yet" };
  if (now.getTime() >= s.servingNotAfterMs) return { ok: false, reason: "serving certificate expired" };
  return { ok: true };
}

/** The configurations found missing, as the key remembered between checks, and whether to warn (a new set only). */
export function missingConfigurations(
  missing: readonly string[],
  reported: string,
): { readonly key: string; readonly warn: boolean } {
  const key = missing.join(",");
  return { key, warn: missing.length > 0 && key !== reported };
}
