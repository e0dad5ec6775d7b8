// The policy reconcilers' decisions (plan.ts), without a cluster: the decision table of planPolicy, which policy
// supersedes which, when to look again, and what a failed connection or attestation means.
import { describe, expect, test } from "bun:test";
import { SconeCliError } from "../../../../src/cas/driver/commands.ts";
import { CliRunError } from "../../../../src/cas/driver/runner.ts";
import {
  type AnyPolicy,
  invalidAddress,
  notAttested,
  outcomeOfConnectError,
  type PolicyLook,
  type Prepared,
  parsePolicyKey,
  pickSuccessor,
  planPolicy,
  policyKey,
  prepareEncrypted,
  prepareSigned,
  retryDelay,
  supersededBy,
  supersededByChange,
} from "../../../../src/operator/policies/plan.ts";
import type { PolicyStatus } from "../../../../src/resources/policies.ts";
import { POLICY_REASON, POLICY_STATE } from "../../../../src/resources/policy-conditions.ts";

const H1 = "1a".repeat(32);
const H2 = "2b".repeat(32);
const ADDRESS = "https://cas.team-a:8081";
const NOW = 1_000_000;

const status = (state: string, extra: Partial<PolicyStatus> & { reason?: string } = {}): PolicyStatus => {
  const { reason, ...rest } = extra;
  return {
    state,
    hash: H1,
    observedGeneration: 1,
    conditions: reason
      ? [{ type: "Synced", status: "False", reason, message: "m", lastTransitionTime: "2026-01-01T00:00:00Z" }]
      : [],
    ...rest,
  };
};
const look = (s: PolicyStatus | undefined, extra: Partial<PolicyLook> = {}): PolicyLook => ({
  generation: 1,
  status: s,
  successor: undefined,
  retryAt: undefined,
  now: NOW,
  ...extra,
});
const policy = (name: string, uid: string, st?: PolicyStatus, casAddress = ADDRESS): AnyPolicy =>
  ({
    apiVersion: "cas.scone.cloud/v1beta1",
    kind: "SignedPolicy",
    metadata: { name, namespace: "team-a", uid },
    spec: { casAddress, policy: "name: app\n", signatures: [{ signer: "s", signature: "ab" }] },
    ...(st ? { status: st } : {}),
  }) as AnyPolicy;

/** A prepare that records whether it was asked: the operator's checks run only when a submission is due. */
const preparing = (answer: Prepared<string>) => {
  const asked = { count: 0 };
  return {
    asked,
    prepare: () => {
      asked.count++;
      return answer;
    },
  };
};
const ready: Prepared<string> = { ok: true, session: "app", header: "h" };

describe("planPolicy: the decision table", () => {
  const cases: [string, PolicyLook, string][] = [
    ["a new policy (no status) is submitted", look(undefined), "submit"],
    [
      "a changed spec (status of an older generation) is submitted",
      look(status("Synced"), { generation: 2 }),
      "submit",
    ],
    ["Synced for this generation, no successor: left alone", look(status("Synced")), "leave"],
    ["Superseded: left alone", look(status("Superseded")), "leave"],
    ["Conflict: left alone", look(status("Conflict")), "leave"],
    [
      "refused by the operator's checks (NotSubmitted): left alone until the spec changes",
      look(status("Rejected", { reason: POLICY_REASON.NotSubmitted })),
      "leave",
    ],
    [
      "refused by the CAS, retry due: submitted again",
      look(status("Rejected", { reason: POLICY_REASON.CasRejected }), { retryAt: NOW }),
      "submit",
    ],
    [
      "refused by the CAS, retry not due (our own status write woke it): waits",
      look(status("Rejected", { reason: POLICY_REASON.CasRejected }), { retryAt: NOW + 250 }),
      "wait",
    ],
    [
      "CAS not ready (Error), retry not due: waits",
      look(status("Error", { reason: POLICY_REASON.CasUnavailable }), { retryAt: NOW + 30_000 }),
      "wait",
    ],
    [
      "CAS not ready (Error), no retry remembered (operator restarted): submitted",
      look(status("Error", { reason: POLICY_REASON.CasNotAttested })),
      "submit",
    ],
    ["a state this operator does not write: submitted", look(status("Pending")), "submit"],
  ];
  for (const [name, l, kind] of cases)
    test(name, () => {
      const p = preparing(ready);
      const plan = planPolicy(l, p.prepare);
      expect(plan.kind).toBe(kind as never);
      expect(p.asked.count).toBe(kind === "submit" ? 1 : 0);
    });

  test("a wait lasts until the retry is due", () => {
    const l = look(status("Error"), { retryAt: NOW + 250 });
    expect(planPolicy(l, () => ready)).toEqual({ kind: "wait", requeueAfterMs: 250 });
  });

  test("a submission carries the session and header the checks found", () => {
    expect(planPolicy(look(undefined), () => ready)).toEqual({ kind: "submit", session: "app", header: "h" });
  });

  test("a spec the checks refuse is reported invalid, not submitted", () => {
    const problems = [{ reason: POLICY_REASON.MissingField, field: "spec.policy", message: "spec.policy: missing" }];
    expect(planPolicy(look(undefined), () => ({ ok: false, problems }))).toEqual({
      kind: "report",
      outcome: { kind: "invalid", problems },
    });
  });

  test("Synced with a successor: reported Superseded, without asking the CAS", () => {
    const successor = { policy: policy("v2", "u2"), status: status("Synced", { hash: H2, predecessor: H1 }) };
    const p = preparing(ready);
    expect(planPolicy(look(status("Synced"), { successor }), p.prepare)).toEqual({
      kind: "report",
      outcome: { kind: "superseded", by: "SignedPolicy team-a/v2", byHash: H2 },
    });
    expect(p.asked.count).toBe(0);
  });

  test("a successor of an older generation's status does not count: the new spec is submitted", () => {
    const successor = { policy: policy("v2", "u2"), status: status("Synced", { hash: H2, predecessor: H1 }) };
    expect(planPolicy(look(status("Synced"), { successor, generation: 2 }), () => ready).kind).toBe("submit");
  });
});

describe("the operator's checks before a submission", () => {
  test("a signed policy: the session name orders its submissions; the predecessor goes with it", () => {
    const spec = {
      casAddress: ADDRESS,
      policy: `name: app\npredecessor: ${H1}\n`,
      signatures: [{ signer: "s", signature: "ab" }],
    };
    expect(prepareSigned(spec)).toEqual({
      ok: true,
      session: "app",
      header: { sessionName: "app", predecessor: H1 },
    });
    expect(prepareSigned({ ...spec, policy: "name: app\n" })).toMatchObject({ header: { predecessor: null } });
  });

  test("a signed policy without signatures is refused, naming the field", () => {
    const p = prepareSigned({ casAddress: ADDRESS, policy: "name: app\n", signatures: [] });
    expect(p.ok).toBe(false);
    expect(p.ok ? [] : p.problems.map((x) => x.field)).toEqual(["spec.signatures"]);
  });

  test("an encrypted policy names no session (it is inside the ciphertext); a short key is refused", () => {
    const spec = { casAddress: ADDRESS, policy: "Y2lwaGVy", encryptionKey: "ab".repeat(32) };
    expect(prepareEncrypted(spec)).toEqual({ ok: true, session: undefined, header: undefined });
    const bad = prepareEncrypted({ ...spec, encryptionKey: "ab" });
    expect(bad.ok ? [] : bad.problems.map((x) => x.reason)).toEqual([POLICY_REASON.MalformedEncryptionKey]);
  });
});

describe("which policy supersedes which", () => {
  const o = policy("v1", "u1", status("Synced"));
  const v2 = { policy: policy("v2", "u2"), status: status("Synced", { hash: H2, predecessor: H1 }) };

  test("the one that registered the next version at the same CAS", () => {
    expect(pickSuccessor(o, H1, [v2])).toBe(v2);
    const superseded = { ...v2, status: status("Superseded", { hash: H2, predecessor: H1 }) };
    expect(pickSuccessor(o, H1, [superseded])).toBe(superseded);
  });

  test("not itself, not one at another CAS, not one that is not registered, not one naming another predecessor", () => {
    const self = { policy: o, status: status("Synced", { predecessor: H1 }) };
    const elsewhere = { ...v2, policy: policy("v2", "u2", undefined, "https://other.team-a:8081") };
    const refused = { ...v2, status: status("Rejected", { predecessor: H1 }) };
    const other = { ...v2, status: status("Synced", { hash: H2, predecessor: H2 }) };
    expect(pickSuccessor(o, H1, [self, elsewhere, refused, other])).toBeUndefined();
  });

  test("the successor's name and hash go into the outcome", () => {
    expect(supersededBy(v2)).toEqual({ kind: "superseded", by: "SignedPolicy team-a/v2", byHash: H2 });
  });

  test("a newly Synced version wakes the policy holding its predecessor, nothing else", () => {
    const holder = policy("v1", "u1", status("Synced"));
    const unrelated = policy("x", "ux", status("Synced", { hash: H2 }));
    const changed = policy("v2", "u2", status("Synced", { hash: H2, predecessor: H1 }));
    expect(supersededByChange(changed, [holder, unrelated, changed])).toEqual([holder]);
    const notYet = policy("v2", "u2", status("Error", { hash: H2, predecessor: H1 }));
    expect(supersededByChange(notYet, [holder])).toEqual([]);
  });
});

describe("when to look again", () => {
  const p = { retryMs: 500, casRejectedRetryMs: 300_000 };
  test("an error after retryMs, a CAS refusal after casRejectedRetryMs, anything else not by a timer", () => {
    expect(retryDelay({ kind: "error", reason: POLICY_REASON.CasUnavailable, message: "down" }, p)).toBe(500);
    expect(retryDelay({ kind: "casRejected", message: "no" }, p)).toBe(300_000);
    expect(retryDelay({ kind: "invalid", problems: [] }, p)).toBeUndefined();
    expect(retryDelay({ kind: "superseded", by: "x", byHash: H2 }, p)).toBeUndefined();
    const synced = { kind: "synced", hash: H1, predecessor: null, action: "Created", casAddress: ADDRESS } as const;
    expect(retryDelay(synced, p)).toBeUndefined();
  });
});

describe("what a failed connection or attestation means", () => {
  test("a connection the CLI refused is CasUnavailable (the CAS decided nothing); one that could not run too", () => {
    const refused = outcomeOfConnectError(new SconeCliError("cas_keys" as never, null, 1, "connection refused"));
    expect(refused).toMatchObject({ kind: "error", reason: POLICY_REASON.CasUnavailable });
    expect(outcomeOfConnectError(new CliRunError("no pod"))).toMatchObject({
      kind: "error",
      reason: POLICY_REASON.CasUnavailable,
    });
  });

  test("not attested: Error CasNotAttested naming the admit-operator command and the CLI's words, bounded", () => {
    const o = notAttested({ namespace: "team-a", name: "cas" }, "cas.team-a:8081", "pod source", "x".repeat(1000));
    expect(o).toMatchObject({ kind: "error", reason: POLICY_REASON.CasNotAttested });
    const message = o.kind === "error" ? o.message : "";
    expect(message).toContain("scone cas admit-operator cas -n team-a");
    expect(message).toContain("(pod source)");
    expect(message.length).toBeLessThan(600);
  });

  test("an address that names no CAS of the cluster is invalid, naming spec.casAddress", () => {
    expect(invalidAddress("http://cas.team-a:8081")).toMatchObject({
      kind: "invalid",
      problems: [{ reason: POLICY_REASON.InvalidCasAddress, field: "spec.casAddress" }],
    });
  });
});

describe("policy keys", () => {
  test("a key names kind, namespace and name, and is read back", () => {
    const key = policyKey("EncryptedPolicy", "team-a", "p");
    expect(key).toBe("EncryptedPolicy:team-a/p");
    expect(parsePolicyKey(key)).toEqual({ kind: "EncryptedPolicy", namespace: "team-a", name: "p" });
    expect(parsePolicyKey(policyKey("SignedPolicy", undefined, "q"))).toEqual({
      kind: "SignedPolicy",
      namespace: "",
      name: "q",
    });
  });

  test("the states are the constants beside the resource type", () => {
    expect(Object.values(POLICY_STATE)).toEqual(["Synced", "Rejected", "Conflict", "Superseded", "Error"]);
  });
});
