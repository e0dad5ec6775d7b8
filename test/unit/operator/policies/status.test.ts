// Policy status derivation and Events (pure), the casAddress parser and the owner identity/trust list parsing.
import { describe, expect, test } from "bun:test";
import { generateCliConfig, sessionSigner } from "../../../../src/cas/identity.ts";
import { casRefOfAddress, mappedResolver, sameCasAddress } from "../../../../src/operator/policies/address.ts";
import { casDbEntryFor, ownerFromConfigText, parseAllowedSigners } from "../../../../src/operator/policies/owner.ts";
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
      { kind: "invalid", problems: [{ reason: "InvalidSignature", field: "f", signer: "S", message: "bad sig" }] },
      2,
    );
    expect(rejected).toMatchObject({ state: "Rejected", hash: H1, revision: "1", observedGeneration: 2 });
    expect(cond(rejected, "SignatureValid")).toMatchObject({
      status: "False",
      reason: "InvalidSignature",
      message: "bad sig",
    });
    expect(cond(rejected, "Synced")).toMatchObject({ status: "False", reason: "NotSubmitted" });
    const conflict = step(s1, {
      kind: "conflict",
      reason: "ChangedAtCas",
      currentHash: H2,
      expectedHash: H1,
      message: "changed",
    });
    expect(conflict).toMatchObject({ state: "Conflict", hash: H1 });
    expect(cond(conflict, "Synced")?.reason).toBe("Conflict");
  });

  test("a fresh resource that cannot be submitted still has the required hash field", () => {
    const s = step(undefined, { kind: "error", reason: "NoOwnerIdentity", message: "no identity" });
    expect(s).toMatchObject({ state: "Error", hash: "" });
    expect(s.revision).toBeUndefined();
  });
});

describe("transitionEvent", () => {
  test("one Event per transition, none for a repeat; Conflict names both hashes", () => {
    const conflict: PolicyOutcome = {
      kind: "conflict",
      reason: "ChangedAtCas",
      currentHash: H2,
      expectedHash: H1,
      message: "changed",
    };
    const prev = step(undefined, { kind: "synced", hash: H1, predecessor: null, action: "Created", casAddress: "c" });
    const next = step(prev, conflict);
    const event = transitionEvent(prev, next, conflict);
    expect(event?.type).toBe("Warning");
    expect(event?.reason).toBe("Conflict");
    expect(event?.message).toContain(H1);
    expect(event?.message).toContain(H2);
    expect(transitionEvent(next, step(next, conflict), conflict)).toBeUndefined();
  });

  test("a refused signature is a Warning naming the signer", () => {
    const outcome: PolicyOutcome = {
      kind: "invalid",
      problems: [{ reason: "InvalidSignature", field: "f", signer: "SIGNER1", message: "m" }],
    };
    const event = transitionEvent(undefined, step(undefined, outcome), outcome);
    expect(event).toMatchObject({ type: "Warning", reason: "SignatureInvalid" });
    expect(event?.message).toContain("SIGNER1");
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

describe("owner identity", () => {
  test("trust list = the owner's session signer plus allowed signers; ANY switches it off", async () => {
    const config = await generateCliConfig();
    const text = JSON.stringify(config);
    const owner = await ownerFromConfigText(text, "S1\nS2, S3 # the release key\n# S4", "Secret ns/scone-owner-cas");
    expect(owner.trustedSigners).toEqual([await sessionSigner(config), "S1", "S2", "S3"]);
    expect((await ownerFromConfigText(text, "ANY", "x")).trustedSigners).toBeUndefined();
    expect(parseAllowedSigners(undefined)).toEqual([]);
  });
  test("a broken config names the source, never its content", async () => {
    const err = await ownerFromConfigText("{not json", undefined, "Secret ns/scone-owner-cas").catch((e: Error) => e);
    expect(String(err)).toContain("Secret ns/scone-owner-cas");
    expect(String(err)).toContain("config.json");
  });
  test("cas_db entries match by key or by url", async () => {
    const config = await generateCliConfig();
    const entry = {
      url: "https://cas.a:8081",
      chain: "",
      cas_key_hash: "K",
      software_key_hash: "",
      session_encryption_key: "E",
      version: "",
      attested_at: "",
    };
    const withDb = { ...config, cas_db: { "https://127.0.0.1:1": entry } };
    expect(casDbEntryFor(withDb, "https://cas.a:8081/")?.cas_key_hash).toBe("K");
    expect(casDbEntryFor(withDb, "https://127.0.0.1:1")?.cas_key_hash).toBe("K");
    expect(casDbEntryFor(withDb, "https://cas.b:8081")).toBeUndefined();
  });
});

describe("outcomeOfCasError", () => {
  test("CAS refusals become Rejected, transient failures Error (retried), missing setup NoOwnerIdentity", async () => {
    const { outcomeOfCasError } = await import("../../../../src/operator/policies/controller.ts");
    const { PolicySetupError } = await import("../../../../src/operator/policies/cas-port.ts");
    const { CasAttestationError } = await import("../../../../src/cas/attestation.ts");
    const errors = await import("../../../../src/cas/errors.ts");
    const kindOf = (err: unknown) => {
      const o = outcomeOfCasError(err);
      return o.kind === "error" ? `error:${o.reason}` : o.kind;
    };
    expect(kindOf(new errors.CasRequestError("bad signature", 400))).toBe("casRejected");
    expect(kindOf(new errors.CasAuthError("not allowed", 403))).toBe("casRejected");
    expect(kindOf(new errors.CasNotFoundError("namespace missing", 404))).toBe("error:CasError");
    expect(kindOf(new errors.CasUnavailableError("timeout", 0))).toBe("error:CasUnavailable");
    expect(kindOf(new errors.CasError("boom", 500))).toBe("error:CasError");
    expect(kindOf(new CasAttestationError("wrong key"))).toBe("error:AttestationFailed");
    expect(kindOf(new PolicySetupError("no cas_db entry"))).toBe("error:NoOwnerIdentity");
  });
});
