// The policy controllers' memory (observe.ts): the status we last wrote counts only for the very object and
// generation it was written for; the predecessor index finds the candidates a successor lookup checks.
import { describe, expect, test } from "bun:test";
import { PolicyMemory } from "../../../../src/operator/policies/observe.ts";
import type { AnyPolicy } from "../../../../src/operator/policies/plan.ts";
import type { PolicyStatus } from "../../../../src/resources/policies.ts";

const H1 = "1a".repeat(32);
const H2 = "2b".repeat(32);
const st = (state: string, predecessor?: string): PolicyStatus => ({
  state,
  hash: H2,
  ...(predecessor ? { predecessor } : {}),
});
const policy = (uid: string, generation: number, status?: PolicyStatus) =>
  ({
    kind: "SignedPolicy",
    metadata: { name: "p", namespace: "n", uid, generation },
    ...(status ? { status } : {}),
  }) as AnyPolicy;

describe("PolicyMemory", () => {
  test("our last status stands for the same object and generation; otherwise the object's own", () => {
    const m = new PolicyMemory();
    const cached = st("Error");
    m.remember("k", policy("u1", 1), st("Synced"));
    expect(m.statusOf("k", policy("u1", 1, cached))?.state).toBe("Synced");
    expect(m.statusOf("k", policy("u1", 2, cached))).toBe(cached);
    expect(m.statusOf("k", policy("u2", 1, cached))).toBe(cached);
  });

  test("statuses naming a predecessor are indexed; unindexed and forgotten ones are not found", () => {
    const m = new PolicyMemory();
    m.index("a", st("Synced", H1));
    m.index("b", st("Synced", H1));
    m.index("c", st("Synced"));
    expect(m.namingPredecessor(H1)).toEqual(["a", "b"]);
    m.unindex("a", st("Synced", H1));
    expect(m.namingPredecessor(H1)).toEqual(["b"]);
    m.remember("b", policy("u", 1), st("Synced", H1));
    m.setRetry("b", 5);
    m.forget("b");
    expect(m.namingPredecessor(H1)).toEqual([]);
    expect(m.retryAt("b")).toBeUndefined();
  });

  test("a retry time is kept until cleared", () => {
    const m = new PolicyMemory();
    m.setRetry("k", 42);
    expect(m.retryAt("k")).toBe(42);
    m.setRetry("k", undefined);
    expect(m.retryAt("k")).toBeUndefined();
  });
});
