// verifySignedPolicy / EncryptedPolicy checks: the table of ways a policy can be wrong, each refused with the
// reason and the signer named, and the valid cases accepted.
import { describe, expect, test } from "bun:test";
import { keyHashOfSpki, newSeed, sealToKey, toHex } from "../../../../src/cas/crypto.ts";
import { signSession } from "../../../../src/cas/session.ts";
import {
  checkEncryptedPolicyFormat,
  encryptionKeyProblem,
  verifySignedPolicy,
} from "../../../../src/operator/policies/verify.ts";
import type { SignedPolicySpec } from "../../../../src/resources/policies.ts";

const CAS = "https://cas.policies:8081";
const seedA = newSeed();
const seedB = newSeed();
const signerOf = async (seed: Uint8Array) => (await signSession("x", seed)).signatures[0]?.signer ?? "";
const signerA = await signerOf(seedA);
const signerB = await signerOf(seedB);

const policyText = (creator?: string) =>
  `version: "0.3.10"\nname: app-policy\npredecessor: ~\nservices:\n  - name: app\n    command: python3 /app/app.py\n${
    creator ? `creator:\n  signer: ${creator}\n` : ""
  }`;

async function signedSpec(text: string, ...seeds: Uint8Array[]): Promise<SignedPolicySpec> {
  const signatures = [];
  for (const seed of seeds) signatures.push(...(await signSession(text, seed)).signatures);
  return { casAddress: CAS, policy: text, signatures };
}

const reasons = (r: { problems: readonly { reason: string }[] }) => r.problems.map((p) => p.reason);

describe("verifySignedPolicy", () => {
  test("a policy signed by its creator is valid; the session name and predecessor are read", async () => {
    const r = await verifySignedPolicy(await signedSpec(policyText(signerA), seedA));
    expect(r).toEqual({ ok: true, signers: [signerA], problems: [], sessionName: "app-policy", predecessor: null });
  });

  test("one byte of the text changed after signing → InvalidSignature naming the signer", async () => {
    const spec = await signedSpec(policyText(), seedA);
    const tampered = { ...spec, policy: spec.policy.replace("app.py", "app.pz") };
    const r = await verifySignedPolicy(tampered);
    expect(r.ok).toBe(false);
    expect(reasons(r)).toEqual(["InvalidSignature"]);
    expect(r.problems[0]?.signer).toBe(signerA);
    expect(r.problems[0]?.field).toBe("spec.signatures[0].signature");
    // Even a trailing newline is a different text.
    expect(reasons(await verifySignedPolicy({ ...spec, policy: `${spec.policy}\n` }))).toEqual(["InvalidSignature"]);
  });

  test("no signature at all → MissingSignature", async () => {
    const r = await verifySignedPolicy({ casAddress: CAS, policy: policyText(), signatures: [] });
    expect(reasons(r)).toEqual(["MissingSignature"]);
    expect(reasons(await verifySignedPolicy({ casAddress: CAS, policy: policyText() } as SignedPolicySpec))).toEqual([
      "MissingSignature",
    ]);
  });

  test("a signature by one key presented under another signer → InvalidSignature for that signer", async () => {
    const spec = await signedSpec(policyText(), seedA);
    const wrong = { ...spec, signatures: [{ signer: signerB, signature: spec.signatures[0]?.signature ?? "" }] };
    const r = await verifySignedPolicy(wrong);
    expect(reasons(r)).toEqual(["InvalidSignature"]);
    expect(r.problems[0]?.signer).toBe(signerB);
    expect(r.signers).toEqual([]);
  });

  test("malformed signature hex → MalformedSignature", async () => {
    const spec = await signedSpec(policyText(), seedA);
    const sig = spec.signatures[0]?.signature ?? "";
    for (const bad of [`zz${sig.slice(2)}`, sig.slice(2), ""]) {
      const r = await verifySignedPolicy({ ...spec, signatures: [{ signer: signerA, signature: bad }] });
      expect(reasons(r)).toEqual(["MalformedSignature"]);
      expect(r.problems[0]?.signer).toBe(signerA);
    }
  });

  test("a signer that is not a session-signing key (a key hash, garbage, a flipped character) → UnknownSignerFormat", async () => {
    const spec = await signedSpec(policyText(), seedA);
    const sig = spec.signatures[0]?.signature ?? "";
    const keyHash = keyHashOfSpki(new Uint8Array(44));
    const flipped = `${signerA.slice(0, -1)}${signerA.endsWith("a") ? "b" : "a"}`;
    for (const signer of [keyHash, "not-a-signer", flipped]) {
      const r = await verifySignedPolicy({ ...spec, signatures: [{ signer, signature: sig }] });
      expect(reasons(r)).toEqual(["UnknownSignerFormat"]);
    }
  });

  test("creator.signer that did not sign → CreatorNotSigner, even with another valid signature", async () => {
    const r = await verifySignedPolicy(await signedSpec(policyText(signerB), seedA));
    expect(reasons(r)).toEqual(["CreatorNotSigner"]);
    expect(r.problems[0]?.signer).toBe(signerB);
    expect(r.signers).toEqual([signerA]);
  });

  test("every signature must verify: one good and one bad signature is refused", async () => {
    const spec = await signedSpec(policyText(), seedA, seedB);
    const [first, second] = spec.signatures;
    const r = await verifySignedPolicy({
      ...spec,
      signatures: [
        first ?? { signer: "", signature: "" },
        { signer: second?.signer ?? "", signature: "00".repeat(64) },
      ],
    });
    expect(r.ok).toBe(false);
    expect(reasons(r)).toEqual(["InvalidSignature"]);
    expect(r.problems[0]?.signer).toBe(signerB);
    expect((await verifySignedPolicy(spec)).signers).toEqual([signerA, signerB]);
  });

  test("trust list: every signer must be on it", async () => {
    const spec = await signedSpec(policyText(), seedA, seedB);
    expect((await verifySignedPolicy(spec, { trustedSigners: [signerA, signerB] })).ok).toBe(true);
    const r = await verifySignedPolicy(spec, { trustedSigners: [signerA] });
    expect(reasons(r)).toEqual(["UntrustedSigner"]);
    expect(r.problems[0]?.signer).toBe(signerB);
  });

  test("a text that is not a session → InvalidPolicy; an empty policy → MissingPolicy", async () => {
    const r = await verifySignedPolicy(await signedSpec("just: [a, list]\n", seedA));
    expect(reasons(r)).toEqual(["InvalidPolicy"]);
    expect(r.problems[0]?.message).toContain("name");
    expect(reasons(await verifySignedPolicy({ casAddress: CAS, policy: "", signatures: [] }))).toEqual([
      "MissingPolicy",
      "MissingSignature",
    ]);
  });

  test("the predecessor is read from the signed text", async () => {
    const hash = "ab".repeat(32);
    const r = await verifySignedPolicy(
      await signedSpec(policyText().replace("predecessor: ~", `predecessor: ${hash}`), seedA),
    );
    expect(r.ok).toBe(true);
    expect(r.predecessor).toBe(hash);
  });
});

describe("EncryptedPolicy checks", () => {
  const key = toHex(crypto.getRandomValues(new Uint8Array(32)));

  test("a sealed session for a 64-hex key passes the format checks", async () => {
    const policy = await sealToKey(policyText(), key);
    expect(checkEncryptedPolicyFormat({ casAddress: CAS, encryptionKey: key, policy })).toEqual([]);
  });

  test("a malformed key or a policy that is not a sealed box is named", async () => {
    const policy = await sealToKey(policyText(), key);
    const r1 = checkEncryptedPolicyFormat({ casAddress: CAS, encryptionKey: key.slice(2), policy });
    expect(r1.map((p) => p.reason)).toEqual(["MalformedEncryptionKey"]);
    const r2 = checkEncryptedPolicyFormat({ casAddress: CAS, encryptionKey: key, policy: "bm90IGEgYm94" });
    expect(r2.map((p) => p.reason)).toEqual(["MalformedEncryptedPolicy"]);
    const r3 = checkEncryptedPolicyFormat({ casAddress: CAS, encryptionKey: key, policy: "***" });
    expect(r3.map((p) => p.reason)).toEqual(["MalformedEncryptedPolicy"]);
  });

  test("the key must be the CAS's (case does not matter)", () => {
    const other = toHex(crypto.getRandomValues(new Uint8Array(32)));
    const spec = { casAddress: CAS, encryptionKey: key };
    expect(encryptionKeyProblem(spec, key.toUpperCase())).toBeUndefined();
    const problem = encryptionKeyProblem(spec, other);
    expect(problem?.reason).toBe("WrongEncryptionKey");
    expect(problem?.message).toContain(other);
  });
});
