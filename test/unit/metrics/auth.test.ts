// /metrics with --metrics-secure: TokenReview then SubjectAccessReview (get /metrics), cached per token briefly.
import { describe, expect, test } from "bun:test";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { RequestOptions } from "../../../src/kube/transport.ts";
import { bearerToken, metricsAuthorizer, metricsReviewer } from "../../../src/metrics/auth.ts";

type Review = { kind: string; spec: Record<string, unknown> };

/** An API server that knows two tokens: prometheus's (allowed) and intruder's (authenticated, not allowed). */
function fakeApi(opts: { failing?: boolean } = {}) {
  const calls: Review[] = [];
  const users: Record<string, string> = {
    "t-prom": "system:serviceaccount:monitoring:prometheus",
    "t-bad": "intruder",
  };
  const requestJson = async (req: RequestOptions): Promise<unknown> => {
    const r = req.body as Review;
    calls.push(r);
    if (opts.failing) throw new Error("connect ECONNREFUSED");
    if (r.kind === "TokenReview") {
      const user = users[r.spec.token as string];
      return { status: user ? { authenticated: true, user: { username: user } } : { authenticated: false } };
    }
    const allowed =
      r.spec.user === users["t-prom"] &&
      JSON.stringify(r.spec.nonResourceAttributes) === JSON.stringify({ verb: "get", path: "/metrics" });
    return { status: { allowed, reason: allowed ? "" : "no RBAC rule" } };
  };
  return { client: { transport: { requestJson } } as unknown as Pick<KubeClient, "transport">, calls };
}

const req = (token?: string) =>
  new Request("https://127.0.0.1/metrics", token ? { headers: { authorization: `Bearer ${token}` } } : {});

describe("metrics authorization", () => {
  test("no token: 401 with a Bearer challenge, no API call", async () => {
    const api = fakeApi();
    const res = await metricsAuthorizer(metricsReviewer(api.client)).guard(req());
    expect(res?.status).toBe(401);
    expect(res?.headers.get("www-authenticate")).toContain("Bearer");
    expect(api.calls).toEqual([]);
  });

  test("an unknown token is 401, a known user without the RBAC rule 403, the allowed one passes", async () => {
    const api = fakeApi();
    const auth = metricsAuthorizer(metricsReviewer(api.client));
    expect((await auth.guard(req("t-unknown")))?.status).toBe(401);
    const denied = await auth.guard(req("t-bad"));
    expect(denied?.status).toBe(403);
    expect(await denied?.text()).toContain("intruder may not get /metrics");
    expect(await auth.guard(req("t-prom"))).toBeUndefined();
    // The SubjectAccessReview asks for exactly get on /metrics for the reviewed user.
    expect(api.calls.filter((c) => c.kind === "SubjectAccessReview").at(-1)?.spec).toEqual({
      user: "system:serviceaccount:monitoring:prometheus",
      groups: [],
      nonResourceAttributes: { verb: "get", path: "/metrics" },
    });
  });

  test("decisions are cached per token until the TTL passes; API errors are 503 and not cached", async () => {
    let t = 0;
    const api = fakeApi();
    const auth = metricsAuthorizer(metricsReviewer(api.client, { allowedTtlMs: 1000, now: () => t }));
    await auth.guard(req("t-prom"));
    await auth.guard(req("t-prom"));
    expect(api.calls).toHaveLength(2); // one TokenReview + one SAR
    t = 1001;
    await auth.guard(req("t-prom"));
    expect(api.calls).toHaveLength(4);

    const down = fakeApi({ failing: true });
    const auth2 = metricsAuthorizer(metricsReviewer(down.client));
    const unavailable = await auth2.guard(req("t-prom"));
    expect(unavailable?.status).toBe(503);
    expect(await unavailable?.text()).toContain("did not answer the TokenReview");
    await auth2.guard(req("t-prom"));
    expect(down.calls).toHaveLength(2);
  });

  test("bearerToken reads only a well-formed Bearer header", () => {
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("bearer abc ")).toBe("abc");
    expect(bearerToken("Basic abc")).toBeUndefined();
    expect(bearerToken("Bearer a b")).toBeUndefined();
    expect(bearerToken(null)).toBeUndefined();
  });
});
