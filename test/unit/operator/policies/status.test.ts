// Policy status derivation and Events (pure) and the casAddress parser.
import { describe, expect, test } from "bun:test";
import { casRefOfAddress, mappedResolver, sameCasAddress } from "../../../../src/operator/policies/address.ts";
import { nextPolicyStatus, type PolicyOutcome, transitionEvent } from "../../../../src/operator/policies/status.ts";
import type { PolicyStatus } from "../../../../src/resources/policies.ts";

const now = new Date("2026-11-23T12:00:00Z");
const H1 = "11".repeat(32);
const H2 = "22".repeat(32);
const step = (previous: PolicyStatus | undefined, outcome: PolicyOutcome, generation = 1) =>
  nextPolicyStatus({ previous, outcome, generation, validity: "SignatureValid", now });
const cond = (s: PolicyStatus, type: string) => s.conditions?.find((c) => c.type === type);

describe("nextPolicyStatus", () => {
  const created: PolicyOutcome = {
    kind: "synced",
    hash: H1,
    predecessor: null,
    action: "Created",
    casAddress: "https://cas.a:8081",
  };

  test("a created session: Synced with hash, revision 1, both conditions True", () => {
    const s = step(undefined, created);
    expect(s).toMatchObject({ state: "Synced", hash: H1, predecessor: "", revision: "1", observedGeneration: 1 });
    expect(cond(s, "SignatureValid")?.status).toBe("True");
    expect(cond(s, "Synced")).toMatchObject({ status: "True", reason: "Created", observedGeneration: 1 });
  });

  test("an accepted update moves hash, predecessor and revision; an adoption keeps the revision", () => {
    const s1 = step(undefined, created);
    const s2 = step(s1, { ...created, hash: H2, predecessor: H1, action: "Updated" }, 2);
    expect(s2).toMatchObject({ state: "Synced", hash: H2, predecessor: H1, revision: "2", observedGeneration: 2 });
    expect(step(s2, { ...created, hash: H2, action: "Adopted" }, 2).revision).toBe("2");
  });

  test("refusals keep what the CAS holds from this resource", () => {
    const s1 = step(undefined, created);
    const rejected = step(
      s1,
      { kind: "invalid", problems: [{ reason: "MissingField", field: "spec.signatures", message: "no sig" }] },
      2,
    );
    expect(rejected).toMatchObject({ state: "Rejected", hash: H1, revision: "1", observedGeneration: 2 });
    expect(cond(rejected, "SignatureValid")).toMatchObject({
      status: "False",
      reason: "MissingField",
      message: "no sig",
    });
    expect(cond(rejected, "Synced")).toMatchObject({ status: "False", reason: "NotSubmitted" });
  });

  test("a fresh resource that cannot be submitted still has the required hash field", () => {
    const s = step(undefined, { kind: "error", reason: "CasNotAttested", message: "not admitted" });
    expect(s).toMatchObject({ state: "Error", hash: "" });
    expect(s.revision).toBeUndefined();
  });
});

describe("transitionEvent", () => {
  test("one Event per transition, none for a repeat", () => {
    const refused: PolicyOutcome = { kind: "casRejected", message: `predecessor ${H1} is not the current version` };
    const prev = step(undefined, { kind: "synced", hash: H1, predecessor: null, action: "Created", casAddress: "c" });
    const next = step(prev, refused);
    const event = transitionEvent(prev, next, refused);
    expect(event?.type).toBe("Warning");
    expect(event?.reason).toBe("CasRejected");
    expect(event?.message).toContain(H1);
    expect(transitionEvent(next, step(next, refused), refused)).toBeUndefined();
  });

  test("the operator's refusal and the CAS's refusal are told apart: reason, condition and Event", () => {
    const mine: PolicyOutcome = {
      kind: "invalid",
      problems: [{ reason: "MissingField", field: "spec.policy", message: "spec.policy: missing" }],
    };
    const cas: PolicyOutcome = { kind: "casRejected", message: "Scone CLI command failed with exit code 1: denied" };
    const a = step(undefined, mine);
    const b = step(undefined, cas);
    expect([a.state, b.state]).toEqual(["Rejected", "Rejected"]);
    expect(cond(a, "Synced")?.reason).toBe("NotSubmitted");
    expect(cond(b, "Synced")).toMatchObject({ reason: "CasRejected", message: cas.message });
    expect(cond(b, "SignatureValid")?.reason).toBe("WellFormed");
    expect(transitionEvent(undefined, a, mine)).toMatchObject({ type: "Warning", reason: "PolicyMalformed" });
    expect(transitionEvent(undefined, a, mine)?.message).toContain("spec.policy");
    expect(transitionEvent(undefined, b, cas)).toMatchObject({ type: "Warning", reason: "CasRejected" });
  });
});

describe("casAddress", () => {
  test("in-cluster addresses name the CAS and its namespace", () => {
    expect(casRefOfAddress("https://cas.my-ns:8081")).toEqual({ name: "cas", namespace: "my-ns" });
    expect(casRefOfAddress("https://cas.my-ns.svc.cluster.local:8081/")).toEqual({ name: "cas", namespace: "my-ns" });
    expect(casRefOfAddress("https://edge.scone-cas.cf:8081")).toBeUndefined();
    expect(casRefOfAddress("http://cas.my-ns:8081")).toBeUndefined();
    expect(casRefOfAddress("cas.my-ns")).toBeUndefined();
  });
  test("a mapped resolver redirects known addresses only", () => {
    const resolve = mappedResolver({ "https://cas.a:8081": { url: "https://127.0.0.1:4444" } });
    expect(resolve("https://cas.a:8081/").url).toBe("https://127.0.0.1:4444");
    expect(resolve("https://cas.b:8081").url).toBe("https://cas.b:8081");
    expect(sameCasAddress("https://CAS.a:8081/", "https://cas.a:8081")).toBe(true);
  });
});
