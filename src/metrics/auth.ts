// Who may read /metrics when the operator serves it with `--metrics-secure` (kubebuilder's default): the caller's
// bearer token is checked with a TokenReview, then the user it names with a SubjectAccessReview for `get` on the
// non-resource URL /metrics, the check kube-rbac-proxy and controller-runtime's filter make. Prometheus'
// ServiceAccount needs a ClusterRole with `nonResourceURLs: ["/metrics"], verbs: ["get"]`.
// A thin caller of src/kube/access-review.ts (what `scone api --kube-auth` uses too): the reviews, their cache (per
// token SHA-256, never past the token's expiry, a denial briefly) and "an API error is a 503, never cached" are there.
import {
  type AccessReviewer,
  cachedReviewer,
  kubeReviews,
  type ReviewCacheOptions,
  reviewBearer,
} from "../kube/access-review.ts";
import type { KubeClient } from "../kube/client.ts";

export const METRICS_PATH = "/metrics";
/** What a scraper must be allowed: get on the non-resource URL /metrics. */
const METRICS_ACCESS = { verb: "get", path: METRICS_PATH } as const;

export type MetricsDecision =
  | { readonly allowed: true; readonly user: string }
  | { readonly allowed: false; readonly status: 401 | 403 | 503; readonly reason: string };

/** The bearer token of an Authorization header, or undefined. */
export function bearerToken(header: string | null): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return m?.[1];
}

/** The reviewer of /metrics requests: TokenReview and SubjectAccessReview through `client`, cached. */
export const metricsReviewer = (client: Pick<KubeClient, "transport">, options?: ReviewCacheOptions): AccessReviewer =>
  cachedReviewer(kubeReviews(client), options);

/** The decision for one Authorization header. */
async function decide(reviewer: AccessReviewer, authorization: string | null): Promise<MetricsDecision> {
  const token = bearerToken(authorization);
  if (!token) return { allowed: false, status: 401, reason: "no bearer token (Authorization: Bearer …)" };
  try {
    const outcome = await reviewBearer(reviewer, token, METRICS_ACCESS);
    if (outcome.status === 200) return { allowed: true, user: outcome.user.username };
    if (outcome.status === 401) return { allowed: false, status: 401, reason: "token not authenticated" };
    return { allowed: false, status: 403, reason: `${outcome.user.username} may not get ${METRICS_PATH}` };
  } catch (e) {
    return { allowed: false, status: 503, reason: `cannot review the token: ${e instanceof Error ? e.message : e}` };
  }
}

/** A checker of requests to /metrics: `guard` lets a request through (undefined) or answers the refusal. */
export function metricsAuthorizer(reviewer: AccessReviewer) {
  return {
    decide: (authorization: string | null) => decide(reviewer, authorization),
    /** For the HTTP handler: undefined lets the request through, else the error Response. */
    async guard(req: Request): Promise<Response | undefined> {
      const d = await decide(reviewer, req.headers.get("authorization"));
      if (d.allowed) return undefined;
      return new Response(`${d.reason}\n`, {
        status: d.status,
        headers: d.status === 401 ? { "www-authenticate": 'Bearer realm="scone-operator"' } : {},
      });
    },
  };
}
