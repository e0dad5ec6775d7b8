// The token reviewer's cache: answers are reused for their TTL under the token's hash (never the token), a "no"
// expires sooner than a "yes", a "yes" never outlives the token's own exp, the cache is bounded, and a failed call
// to the API server is not cached but surfaces as ReviewUnavailable.
import { describe, expect, test } from "bun:test";
import {
  type AccessAttributes,
  cachedReviewer,
  jwtExpiry,
  type ReviewCalls,
  type ReviewedUser,
  ReviewUnavailable,
  reviewBearer,
  TtlCache,
  tokenKey,
} from "../../../src/kube/access-review.ts";

const alice: ReviewedUser = { username: "system:serviceaccount:a:ci", groups: ["system:serviceaccounts"] };
const BACKUP_A: AccessAttributes = {
  verb: "backup",
  group: "services.scone.cloud",
  resource: "cas",
  subresource: "operations",
  namespace: "a",
};
const BACKUP_B: AccessAttributes = { ...BACKUP_A, namespace: "b" };

function fakeCalls(valid: Record<string, ReviewedUser>, allowedNamespaces: string[]) {
  const seen = { tokenReviews: [] as string[], sars: 0, fail: false };
  const calls: ReviewCalls = {
    tokenReview: async (token) => {
      if (seen.fail) throw new Error("connect ECONNREFUSED");
      seen.tokenReviews.push(token);
      return valid[token] ?? null;
    },
    subjectAccessReview: async (_user, attrs) => {
      if (seen.fail) throw new Error("connect ECONNREFUSED");
      seen.sars++;
      return "namespace" in attrs && attrs.namespace !== undefined && allowedNamespaces.includes(attrs.namespace);
    },
  };
  return { calls, seen };
}

const jwt = (exp: number) =>
  `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ exp })).toString("base64url")}.sig`;

describe("reviewBearer", () => {
  test("401 for an unknown token, 403 where RBAC says no, 200 where it says yes", async () => {
    const { calls } = fakeCalls({ good: alice }, ["a"]);
    const reviewer = cachedReviewer(calls);
    expect((await reviewBearer(reviewer, "bad", BACKUP_A)).status).toBe(401);
    expect(await reviewBearer(reviewer, "good", BACKUP_A)).toEqual({ status: 200, user: alice });
    expect(await reviewBearer(reviewer, "good", BACKUP_B)).toEqual({ status: 403, user: alice });
  });
});

describe("cachedReviewer", () => {
  test("answers are reused within their TTL: a yes for 30 s, a no for 5 s", async () => {
    const clock = { now: 1_000_000 };
    const { calls, seen } = fakeCalls({ good: alice }, ["a"]);
    const reviewer = cachedReviewer(calls, { now: () => clock.now });
    await reviewBearer(reviewer, "good", BACKUP_A);
    await reviewBearer(reviewer, "good", BACKUP_B);
    await reviewBearer(reviewer, "bad", BACKUP_A);
    expect(seen.tokenReviews.length).toBe(2);
    expect(seen.sars).toBe(2);
    clock.now += 4_000;
    await reviewBearer(reviewer, "good", BACKUP_A);
    await reviewBearer(reviewer, "good", BACKUP_B);
    await reviewBearer(reviewer, "bad", BACKUP_A);
    expect(seen.tokenReviews.length).toBe(2);
    expect(seen.sars).toBe(2);
    clock.now += 2_000; // 6 s: the no's expired, the yes's did not
    await reviewBearer(reviewer, "good", BACKUP_A);
    await reviewBearer(reviewer, "good", BACKUP_B);
    await reviewBearer(reviewer, "bad", BACKUP_A);
    expect(seen.tokenReviews).toEqual(["good", "bad", "bad"]);
    expect(seen.sars).toBe(3);
    clock.now += 25_000; // 31 s
    await reviewBearer(reviewer, "good", BACKUP_A);
    expect(seen.tokenReviews.length).toBe(4);
    expect(seen.sars).toBe(4);
  });

  test("a yes is never kept past the token's own expiry (JWT exp)", async () => {
    const clock = { now: 1_000_000_000 };
    const token = jwt(clock.now / 1000 + 2);
    expect(jwtExpiry(token)).toBe(clock.now + 2000);
    const { calls, seen } = fakeCalls({ [token]: alice }, ["a"]);
    const reviewer = cachedReviewer(calls, { now: () => clock.now });
    await reviewer.authenticate(token);
    clock.now += 1_500;
    await reviewer.authenticate(token);
    expect(seen.tokenReviews.length).toBe(1);
    clock.now += 1_000;
    await reviewer.authenticate(token);
    expect(seen.tokenReviews.length).toBe(2);
  });

  test("the API server failing is ReviewUnavailable and is not cached", async () => {
    const { calls, seen } = fakeCalls({ good: alice }, ["a"]);
    const reviewer = cachedReviewer(calls);
    seen.fail = true;
    const err = await reviewer.authenticate("good").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReviewUnavailable);
    expect(String(err)).not.toContain("good");
    seen.fail = false;
    expect(await reviewer.authenticate("good")).toEqual(alice);
  });
});

describe("TtlCache", () => {
  test("bounded: the oldest entry goes first; keys are token hashes", () => {
    const cache = new TtlCache<number>(2, () => 0);
    cache.set(tokenKey("one"), 1, 1000);
    cache.set(tokenKey("two"), 2, 1000);
    cache.set(tokenKey("three"), 3, 1000);
    expect(cache.size).toBe(2);
    expect(cache.get(tokenKey("one"))).toBeUndefined();
    expect(cache.get(tokenKey("three"))).toBe(3);
    expect(tokenKey("one")).toMatch(/^[0-9a-f]{64}$/);
  });
});
