// The operator's pre-checks (documented shape only) and the bodies handed to the CLI, against the upstream samples
// (fixtures/: copies of scontain/operator-samples cas_v1beta1_{signed,encrypted}policy.yaml).
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parse } from "yaml";
import {
  encryptedSessionBody,
  precheckEncryptedPolicy,
  precheckSignedPolicy,
  sessionHeader,
  signedSessionBody,
} from "../../../../src/operator/policies/precheck.ts";
import type { EncryptedPolicySpec, SignedPolicySpec } from "../../../../src/resources/policies.ts";

const fixture = async <T>(name: string): Promise<T> =>
  (parse(await Bun.file(join(import.meta.dir, "fixtures", name)).text()) as { spec: T }).spec;
/** The samples name an external CAS (edge.scone-cas.cf); the operator reaches CASes of its cluster. */
const inCluster = <T extends { casAddress: string }>(spec: T): T => ({
  ...spec,
  casAddress: "https://cas.team-a:8081",
});

describe("precheckSignedPolicy", () => {
  test("the upstream sample passes: its base58 signer and its signature are the CAS's to judge", async () => {
    const spec = inCluster(await fixture<SignedPolicySpec>("cas_v1beta1_signedpolicy.yaml"));
    expect(spec.signatures[0]?.signer).toBe("N2exBX7Tpyyu8g2ofoxwfMNVNbL5G4F5Zygso6MyBp78k37gr7");
    const pre = precheckSignedPolicy(spec);
    expect(pre.problems).toEqual([]);
    expect(pre.sessionName).toBe("test-operator-signed-6533");
    expect(pre.predecessor).toBeNull();
  });

  test("any non-empty signer and signature string passes (PEM, base58, hex — no format of scone's own)", async () => {
    const spec = inCluster(await fixture<SignedPolicySpec>("cas_v1beta1_signedpolicy.yaml"));
    const pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----";
    const pre = precheckSignedPolicy({ ...spec, signatures: [{ signer: pem, signature: "not-hex" }] });
    expect(pre.problems).toEqual([]);
  });

  test("each missing field is refused, naming it", async () => {
    const spec = inCluster(await fixture<SignedPolicySpec>("cas_v1beta1_signedpolicy.yaml"));
    const fields = (s: Partial<SignedPolicySpec> | undefined) => precheckSignedPolicy(s).problems.map((p) => p.field);
    expect(fields(undefined)).toEqual(["spec.casAddress", "spec.policy", "spec.signatures"]);
    expect(fields({ ...spec, signatures: [] })).toEqual(["spec.signatures"]);
    expect(fields({ ...spec, signatures: [{ signer: "", signature: "ab" }] })).toEqual(["spec.signatures[0].signer"]);
    expect(fields({ ...spec, signatures: [{ signer: "S", signature: " " }] })).toEqual([
      "spec.signatures[0].signature",
    ]);
    const problem = precheckSignedPolicy({ ...spec, policy: "" }).problems[0];
    expect(problem).toMatchObject({ reason: "MissingField", field: "spec.policy" });
    expect(problem?.message).toContain("spec.policy");
  });

  test("casAddress must name a CAS of the cluster; the session needs a name and a hash or ~ as predecessor", () => {
    const base = { signatures: [{ signer: "S", signature: "X" }] };
    const ext = precheckSignedPolicy({ ...base, casAddress: "https://edge.scone-cas.cf:8081", policy: "name: a" });
    expect(ext.problems.map((p) => p.reason)).toEqual(["InvalidCasAddress"]);
    const noName = precheckSignedPolicy({ ...base, casAddress: "https://cas.a:8081", policy: "version: 0.3.10" });
    expect(noName.problems[0]).toMatchObject({ reason: "InvalidSession", field: "spec.policy" });
    expect(sessionHeader(`name: a/b\npredecessor: ${"ab".repeat(32)}`)).toEqual({
      name: "a/b",
      predecessor: "ab".repeat(32),
    });
    expect(sessionHeader("name: a\npredecessor: nope")).toMatchObject({ reason: "InvalidSession" });
    expect(sessionHeader("name: --trust-any")).toMatchObject({ reason: "InvalidSession" });
    expect(sessionHeader("[1, 2")).toMatchObject({ reason: "InvalidSession" });
  });

  test("the body is SCONE-CLI §6's signed-session JSON, the policy text byte for byte", async () => {
    const spec = await fixture<SignedPolicySpec>("cas_v1beta1_signedpolicy.yaml");
    const body = JSON.parse(signedSessionBody(spec));
    expect(Object.keys(body)).toEqual(["session", "signatures"]);
    expect(body.session).toBe(spec.policy);
    expect(body.signatures).toEqual([{ signer: spec.signatures[0]?.signer, signature: spec.signatures[0]?.signature }]);
  });
});

describe("precheckEncryptedPolicy", () => {
  test("the upstream sample passes and becomes {encrypted_session, encryption_key}", async () => {
    const spec = inCluster(await fixture<EncryptedPolicySpec>("cas_v1beta1_encryptedpolicy.yaml"));
    expect(precheckEncryptedPolicy(spec)).toEqual([]);
    expect(JSON.parse(encryptedSessionBody(spec))).toEqual({
      encrypted_session: spec.policy,
      encryption_key: spec.encryptionKey,
    });
  });

  test("missing fields and a key that is not 64 hex are refused, naming the field", async () => {
    const spec = inCluster(await fixture<EncryptedPolicySpec>("cas_v1beta1_encryptedpolicy.yaml"));
    expect(precheckEncryptedPolicy({ ...spec, policy: "" }).map((p) => p.field)).toEqual(["spec.policy"]);
    expect(precheckEncryptedPolicy({ ...spec, encryptionKey: "abc" })[0]).toMatchObject({
      reason: "MalformedEncryptionKey",
      field: "spec.encryptionKey",
    });
    expect(precheckEncryptedPolicy({}).map((p) => p.field)).toEqual([
      "spec.casAddress",
      "spec.policy",
      "spec.encryptionKey",
    ]);
  });
});
