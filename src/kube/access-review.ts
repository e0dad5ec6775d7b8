// Authenticate and authorize a bearer token the way Kubernetes does, by asking the API server: TokenReview (who is
// this?) then SubjectAccessReview (may they do this?). Any server that accepts Kubernetes tokens (`scone api
// --kube-auth`, a metrics endpoint) calls `reviewBearer` and answers 401/403/200 from its outcome; RBAC stays the
// single place where rights are granted.
//
// Answers are cached briefly (bounded, with a TTL) under the SHA-256 of the token: the clear token is never kept
// in memory past the request, never logged, never a map key. A failed review (API server unreachable) is not
// cached: it throws ReviewUnavailable so the caller answers 503, never a guess.
import type { KubeClient } from "./client.ts";

/** The authenticated identity, as TokenReview reports it (SubjectAccessReview is asked about exactly this user). */
export interface ReviewedUser {
  readonly username: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

/** What is asked: a verb on a resource (optionally a sub-resource, a namespace, a name), or on a plain path. */
export type AccessAttributes =
  | {
      readonly verb: string;
      readonly group: string;
      readonly resource: string;
      readonly subresource?: string;
      /** Absent: cluster-wide (every namespace). */
      readonly namespace?: string;
      readonly name?: string;
    }
  | { readonly verb: string; readonly path: string };

/** The two calls to the API server; `kubeReviews(client)` in production, a fake in unit tests. */
export interface ReviewCalls {
  tokenReview(token: string, audiences: readonly string[]): Promise<ReviewedUser | null>;
  subjectAccessReview(user: ReviewedUser, attributes: AccessAttributes): Promise<boolean>;
}

export interface ReviewCacheOptions {
  /** How long an answer of "yes" (authenticated, allowed) is reused. Default 30 s. */
  readonly allowedTtlMs?: number;
  /** How long an answer of "no" is reused. Default 5 s: a new RoleBinding takes effect quickly. */
  readonly deniedTtlMs?: number;
  /** Most entries per cache (tokens; token × attributes); the oldest go first. Default 4096. */
  readonly maxEntries?: number;
  /** Audiences the token must be meant for (TokenReview spec.audiences); default: the API server's own. */
  readonly audiences?: readonly string[];
  readonly now?: () => number;
}

export type ReviewOutcome =
  | { readonly status: 200; readonly user: ReviewedUser }
  | { readonly status: 401 }
  | { readonly status: 403; readonly user: ReviewedUser };

/** The API server could not answer; the request must fail (503), not be decided. */
export class ReviewUnavailable extends Error {
  override readonly name = "ReviewUnavailable";
}

/** A token reviewer with its caches; one per server process. */
export interface AccessReviewer {
  /** Who the token belongs to, or null when the API server does not accept it. */
  authenticate(token: string): Promise<ReviewedUser | null>;
  /** Whether `user` (authenticated with `token`) may do `attributes`. */
  allowed(token: string, user: ReviewedUser, attributes: AccessAttributes): Promise<boolean>;
}

/** The small entry point: 401 (no such identity), 403 (not allowed) or 200 with the user. */
export async function reviewBearer(
  reviewer: AccessReviewer,
  token: string,
  attributes: AccessAttributes,
): Promise<ReviewOutcome> {
  const user = await reviewer.authenticate(token);
  if (user === null) return { status: 401 };
  return (await reviewer.allowed(token, user, attributes)) ? { status: 200, user } : { status: 403, user };
}

/** A bounded map whose entries expire; insertion order is age, so the first key is the oldest. */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  get(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    if (hit.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return hit.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.now() + ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

/** SHA-256 of the token, hex: the only form in which a token is kept. */
export function tokenKey(token: string): string {
  return Bun.SHA256.hash(token, "hex");
}

/** The `exp` claim of a JWT (seconds → ms), read without verifying: only to never cache past a token's expiry. */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined || token.split(".").length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { exp?: unknown };
    return typeof claims.exp === "number" && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function attributesKey(a: AccessAttributes): string {
  return "path" in a
    ? JSON.stringify(["path", a.verb, a.path])
    : JSON.stringify([a.verb, a.group, a.resource, a.subresource ?? "", a.namespace ?? "", a.name ?? ""]);
}

export function cachedReviewer(calls: ReviewCalls, options: ReviewCacheOptions = {}): AccessReviewer {
  const now = options.now ?? Date.now;
  const allowedTtl = options.allowedTtlMs ?? 30_000;
  const deniedTtl = options.deniedTtlMs ?? 5_000;
  const max = options.maxEntries ?? 4096;
  const audiences = options.audiences ?? [];
  const users = new TtlCache<ReviewedUser | null>(max, now);
  const decisions = new TtlCache<boolean>(max, now);
  // A "yes" never outlives the token itself.
  const ttlFor = (token: string, yes: boolean): number => {
    if (!yes) return deniedTtl;
    const exp = jwtExpiry(token);
    return exp === undefined ? allowedTtl : Math.min(allowedTtl, exp - now());
  };
  return {
    async authenticate(token) {
      const key = tokenKey(token);
      const hit = users.get(key);
      if (hit !== undefined) return hit;
      const user = await unavailableOnError("TokenReview", () => calls.tokenReview(token, audiences));
      users.set(key, user, ttlFor(token, user !== null));
      return user;
    },
    async allowed(token, user, attributes) {
      const key = `${tokenKey(token)}\0${attributesKey(attributes)}`;
      const hit = decisions.get(key);
      if (hit !== undefined) return hit;
      const yes = await unavailableOnError("SubjectAccessReview", () => calls.subjectAccessReview(user, attributes));
      decisions.set(key, yes, ttlFor(token, yes));
      return yes;
    },
  };
}

async function unavailableOnError<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new ReviewUnavailable(
      `the Kubernetes API server did not answer the ${what}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

interface TokenReviewStatus {
  status?: {
    authenticated?: boolean;
    user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  };
}

/** TokenReview and SubjectAccessReview through a client (needs `create` on both, cluster-wide). */
export function kubeReviews(client: Pick<KubeClient, "transport">): ReviewCalls {
  return {
    async tokenReview(token, audiences) {
      const res = await client.transport.requestJson<TokenReviewStatus>({
        method: "POST",
        path: "/apis/authentication.k8s.io/v1/tokenreviews",
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenReview",
          spec: { token, ...(audiences.length > 0 ? { audiences: [...audiences] } : {}) },
        },
      });
      const user = res.status?.user;
      if (res.status?.authenticated !== true || !user?.username) return null;
      return {
        username: user.username,
        ...(user.uid ? { uid: user.uid } : {}),
        groups: user.groups ?? [],
        ...(user.extra ? { extra: user.extra } : {}),
      };
    },
    async subjectAccessReview(user, attributes) {
      const res = await client.transport.requestJson<{ status?: { allowed?: boolean; denied?: boolean } }>({
        method: "POST",
        path: "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec: {
            user: user.username,
            ...(user.uid ? { uid: user.uid } : {}),
            groups: [...user.groups],
            ...(user.extra ? { extra: user.extra } : {}),
            ...("path" in attributes
              ? { nonResourceAttributes: { verb: attributes.verb, path: attributes.path } }
              : { resourceAttributes: { ...attributes } }),
          },
        },
      });
      return res.status?.allowed === true && res.status.denied !== true;
    },
  };
}
