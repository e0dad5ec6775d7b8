// Who may read /metrics when the operator serves it with `--metrics-secure` (kubebuilder's default): the caller's
// bearer token is checked with a TokenReview, then the user it names with a SubjectAccessReview for
// `get` on the non-resource URL /metrics, the check kube-rbac-proxy and controller-runtime's filter make.
// Prometheus' ServiceAccount needs a ClusterRole with `nonResourceURLs: ["/metrics"], verbs: ["get"]`.
// Answers are cached briefly per token (by its SHA-256, never the token itself) so a scrape every few seconds
// costs no API request each time; a denial is cached as well, an API error is not.
import { createHash } from "node:crypto";
import type { KubeObject } from "../kube/types.ts";

export const METRICS_PATH = "/metrics";

/** The API calls the check needs (KubeClient.create satisfies it). */
export interface ReviewClient {
  create<T extends KubeObject>(obj: T): Promise<T>;
}

interface TokenReview extends KubeObject {
  spec: { token: string };
  status?: {
    authenticated?: boolean;
    error?: string;
    user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  };
}

interface SubjectAccessReview extends KubeObject {
  spec: {
    user?: string;
    uid?: string;
    groups?: string[];
    extra?: Record<string, string[]>;
    nonResourceAttributes: { path: string; verb: string };
  };
  status?: { allowed?: boolean; denied?: boolean; reason?: string };
}

export type MetricsDecision =
  | { readonly allowed: true; readonly user: string }
  | { readonly allowed: false; readonly status: 401 | 403 | 503; readonly reason: string };

/** The bearer token of an Authorization header, or undefined. */
export function bearerToken(header: string | null): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return m?.[1];
}

export interface MetricsAuthOptions {
  readonly cacheTtlMs?: number;
  readonly now?: () => number;
}

/** A checker of requests to /metrics: undefined when allowed, else the refusal to send. */
export function metricsAuthorizer(client: ReviewClient, opts: MetricsAuthOptions = {}) {
  const ttl = opts.cacheTtlMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { decision: MetricsDecision; until: number }>();

  const review = async (token: string): Promise<MetricsDecision> => {
    const tr = await client.create<TokenReview>({
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      metadata: {},
      spec: { token },
    });
    const user = tr.status?.user;
    if (!tr.status?.authenticated || !user?.username)
      return {
        allowed: false,
        status: 401,
        reason: `token not authenticated${tr.status?.error ? `: ${tr.status.error}` : ""}`,
      };
    const sar = await client.create<SubjectAccessReview>({
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      metadata: {},
      spec: {
        user: user.username,
        ...(user.uid ? { uid: user.uid } : {}),
        ...(user.groups ? { groups: user.groups } : {}),
        ...(user.extra ? { extra: user.extra } : {}),
        nonResourceAttributes: { path: METRICS_PATH, verb: "get" },
      },
    });
    return sar.status?.allowed
      ? { allowed: true, user: user.username }
      : {
          allowed: false,
          status: 403,
          reason: `${user.username} may not get ${METRICS_PATH}${sar.status?.reason ? `: ${sar.status.reason}` : ""}`,
        };
  };

  const decide = async (authorization: string | null): Promise<MetricsDecision> => {
    const token = bearerToken(authorization);
    if (!token) return { allowed: false, status: 401, reason: "no bearer token (Authorization: Bearer …)" };
    const key = createHash("sha256").update(token).digest("hex");
    const hit = cache.get(key);
    if (hit && hit.until > now()) return hit.decision;
    let decision: MetricsDecision;
    try {
      decision = await review(token);
    } catch (e) {
      // Not cached: the next scrape asks again.
      return { allowed: false, status: 503, reason: `cannot review the token: ${e instanceof Error ? e.message : e}` };
    }
    if (cache.size > 1000) cache.clear();
    cache.set(key, { decision, until: now() + ttl });
    return decision;
  };

  return {
    decide,
    /** For the HTTP handler: undefined lets the request through, else the error Response. */
    async guard(req: Request): Promise<Response | undefined> {
      const d = await decide(req.headers.get("authorization"));
      if (d.allowed) return undefined;
      return new Response(`${d.reason}\n`, {
        status: d.status,
        headers: d.status === 401 ? { "www-authenticate": 'Bearer realm="scone-operator"' } : {},
      });
    },
  };
}
