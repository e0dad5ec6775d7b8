// The admission webhooks (pure): both configurations exist, every webhook's caBundle holds a valid CA, the serving
// certificate (when its Secret is readable) is valid, names the webhook Service and is signed by a CA of the
// caBundle, and the API server reached the webhooks with a dry-run create (its error says why it could not).
import type { CertInfo } from "../../../operator/certs/pki.ts";
import { type Finding, fail, ok, warn } from "../finding.ts";

/** Renew before this: the operator renews at 2/3 of the serving certificate's 90 days, so 14 days left is late. */
export const CERT_WARN_MS = 14 * 24 * 3600_000;

export interface WebhookConfigView {
  readonly kind: string;
  readonly name: string;
  /** undefined: the configuration does not exist. */
  readonly webhooks?: readonly { name: string; caBundlePems: readonly string[] }[];
}

export interface ServingCertView {
  readonly info: CertInfo | undefined;
  /** Whether some CA of every webhook's caBundle signed it. */
  readonly signedByBundle: boolean;
  /** DNS names the certificate must carry (the Service's), empty in URL mode. */
  readonly requiredDns: readonly string[];
}

export type DryRunResult = {
  readonly outcome: "admitted" | "denied" | "forbidden" | "failed";
  readonly message: string;
};

const FIX_RESTART =
  "restart the operator (kubectl -n NS rollout restart deployment scone-controller-manager): it re-issues its certificate and rewrites caBundle; or re-run scone operator install --reconcile";

function certProblem(
  info: CertInfo | undefined,
  what: string,
  now: Date,
): { status: "warn" | "fail"; text: string } | undefined {
  if (!info) return { status: "fail", text: `${what} is not a readable certificate` };
  if (info.notAfter.getTime() <= now.getTime())
    return { status: "fail", text: `${what} expired at ${info.notAfter.toISOString()}` };
  if (info.notBefore.getTime() > now.getTime())
    return { status: "fail", text: `${what} is not valid before ${info.notBefore.toISOString()} (clock skew?)` };
  if (info.notAfter.getTime() - now.getTime() < CERT_WARN_MS)
    return { status: "warn", text: `${what} expires at ${info.notAfter.toISOString()}` };
  return undefined;
}

export function webhookConfigFindings(
  configs: readonly WebhookConfigView[],
  parse: (pem: string) => CertInfo | undefined,
  now: Date,
): Finding[] {
  const out: Finding[] = [];
  for (const c of configs) {
    const check = `webhook ${c.kind}`;
    if (!c.webhooks) {
      out.push(
        fail(
          check,
          `${c.name} does not exist: scone resources are admitted unchecked and undefaulted`,
          "scone operator install --reconcile",
        ),
      );
      continue;
    }
    const problems: { status: "warn" | "fail"; text: string }[] = [];
    for (const w of c.webhooks) {
      if (w.caBundlePems.length === 0) {
        problems.push({ status: "fail", text: `${w.name} has no caBundle` });
        continue;
      }
      const ps = w.caBundlePems.map((pem, i) =>
        certProblem(parse(pem), `${w.name} caBundle certificate ${i + 1}`, now),
      );
      // One valid CA in the bundle is enough (rotation keeps the old one beside the new one).
      if (ps.every((p) => p !== undefined)) problems.push(...ps.filter((p) => p !== undefined));
    }
    const worst = problems.find((p) => p.status === "fail") ?? problems[0];
    if (!worst) out.push(ok(check, `${c.name}: ${c.webhooks.length} webhooks, caBundle valid`));
    else
      out.push(
        (worst.status === "fail" ? fail : warn)(
          check,
          `${c.name}: ${problems.map((p) => p.text).join("; ")}`,
          FIX_RESTART,
        ),
      );
  }
  return out;
}

export function servingCertFinding(serving: ServingCertView | undefined, now: Date): Finding | undefined {
  if (!serving) return undefined;
  const check = "webhook certificate";
  const p = certProblem(serving.info, "the serving certificate (Secret webhook-server-cert)", now);
  if (p?.status === "fail") return fail(check, p.text, FIX_RESTART);
  if (!serving.signedByBundle)
    return fail(
      check,
      "the serving certificate is not signed by a CA in the webhooks' caBundle: the API server cannot trust it",
      FIX_RESTART,
    );
  const missing = serving.requiredDns.filter((d) => !serving.info?.sans.dns.includes(d));
  if (missing.length > 0)
    return fail(check, `the serving certificate does not name ${missing.join(", ")}`, FIX_RESTART);
  if (p) return warn(check, p.text, FIX_RESTART);
  return ok(check, `valid until ${serving.info?.notAfter.toISOString()}, signed by the caBundle`);
}

/** What the API server said when it called the webhooks for a dry-run create (pure). */
export function webhookCallFinding(result: DryRunResult): Finding {
  const check = "webhook reachable";
  if (result.outcome === "admitted") return ok(check, "the API server called the webhooks (dry-run create admitted)");
  if (result.outcome === "denied")
    return ok(check, `the API server called the webhooks; they answered: ${result.message}`);
  if (result.outcome === "forbidden")
    return warn(
      check,
      `not checked: ${result.message}`,
      "run scone doctor as a user who may create LAS objects (a dry run creates nothing)",
    );
  const m = result.message;
  if (/x509|certificate|tls:/i.test(m))
    return fail(check, `the API server does not trust the webhook's certificate: ${m}`, FIX_RESTART);
  if (
    /no endpoints available|connection refused|no such host|i\/o timeout|deadline exceeded|service .* not found/i.test(
      m,
    )
  )
    return fail(
      check,
      `the API server cannot reach the webhook: ${m}`,
      "check that an operator pod is Ready behind Service scone-webhook-service (kubectl -n NS get endpointslices)",
    );
  return fail(check, `the webhook call failed: ${m}`, FIX_RESTART);
}

/** Sorts an API error of a dry-run create into the outcomes above (pure). */
export function dryRunOutcome(status: number, message: string): DryRunResult {
  if (/failed calling webhook|failed to call webhook/i.test(message)) return { outcome: "failed", message };
  if (status === 403 && !/admission webhook/i.test(message)) return { outcome: "forbidden", message };
  return { outcome: "denied", message };
}
