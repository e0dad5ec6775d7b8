// SignedPolicy / EncryptedPolicy specs are written by whoever may create those objects: outside input for the
// operator. Whatever a spec holds, the checks return problems (never throw), a session text is parsed or refused
// with SessionFormatError, and a correctly signed policy stays valid.
import { beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { parseSession, SessionFormatError, signSession } from "../../src/cas/session.ts";
import { checkEncryptedPolicyFormat, verifySignedPolicy } from "../../src/operator/policies/verify.ts";
import type { SignedPolicySpec } from "../../src/resources/policies.ts";
import { fuzzParams, thrownBy } from "./parser-runs.ts";

const SEED = new Uint8Array(32).fill(5);
const SESSION = `name: fuzz/app
version: "0.3"
predecessor: ~
access_policy: { read: [CREATOR], update: [CREATOR] }
secrets:
- { name: k, kind: ascii, size: 16, export_public: true }
services:
- { name: svc, environment: { A: "1" } }
`;
let signed: { session: string; signatures: readonly { signer: string; signature: string }[] };

beforeAll(async () => {
  signed = await signSession(SESSION, SEED);
});

const field = (good: fc.Arbitrary<unknown>) => fc.oneof(good, fc.anything({ maxDepth: 2 }));

/** The session text with a few characters inserted, deleted or replaced. */
const mutatedSession = fc
  .array(fc.tuple(fc.nat({ max: SESSION.length }), fc.nat({ max: 3 }), fc.string({ maxLength: 4 })), {
    minLength: 1,
    maxLength: 4,
  })
  .map((edits) =>
    edits.reduce((text, [at, del, insert]) => text.slice(0, at) + insert + text.slice(at + del), SESSION),
  );
const sessionText = fc.oneof(fc.string({ unit: "binary", maxLength: 300 }), mutatedSession);

describe("policy specs (fuzz)", () => {
  test("the signed base verifies", async () => {
    const result = await verifySignedPolicy({ policy: signed.session, signatures: [...signed.signatures] });
    expect(result).toMatchObject({ ok: true, sessionName: "fuzz/app", predecessor: null });
  });

  test("parseSession parses or throws SessionFormatError", async () => {
    await fc.assert(
      fc.asyncProperty(sessionText, async (text) => {
        const err = await thrownBy(() => parseSession(text));
        if (err !== undefined && !(err instanceof SessionFormatError)) throw err;
      }),
      fuzzParams(),
    );
  });

  test("verifySignedPolicy returns problems for any spec", async () => {
    const signature = fc.record(
      {
        signer: field(fc.constantFrom(signed.signatures[0]?.signer ?? "", "", "2".repeat(60))),
        signature: field(fc.constantFrom(signed.signatures[0]?.signature ?? "", "0".repeat(128), "zz")),
      },
      { requiredKeys: [] },
    );
    const spec = fc.record(
      {
        casAddress: field(fc.constant("https://cas.ns:8081")),
        policy: field(sessionText),
        signatures: field(fc.array(field(signature), { maxLength: 3 })),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        const result = await verifySignedPolicy(s as Partial<SignedPolicySpec>, { trustedSigners: [] });
        expect(result.ok).toBe(result.problems.length === 0);
        for (const p of result.problems) expect(p.message).not.toBe("");
      }),
      fuzzParams(),
    );
  });

  test("an edited signed policy does not verify", async () => {
    await fc.assert(
      fc.asyncProperty(mutatedSession, async (text) => {
        fc.pre(text !== SESSION);
        const result = await verifySignedPolicy({ policy: text, signatures: [...signed.signatures] });
        expect(result.ok).toBe(false);
        expect(result.problems.map((p) => p.reason)).toContain("InvalidSignature");
      }),
      fuzzParams(0.5),
    );
  });

  test("checkEncryptedPolicyFormat returns problems for any spec", () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            encryptionKey: field(fc.string({ unit: fc.constantFrom(..."0123456789abcdefX"), maxLength: 70 })),
            policy: field(fc.base64String()),
          },
          { requiredKeys: [] },
        ),
        (spec) => {
          for (const p of checkEncryptedPolicyFormat(spec as never)) expect(p.field).toMatch(/^spec\./);
        },
      ),
      fuzzParams(),
    );
  });
});

describe("policy regressions", () => {
  // The signer string was base58-decoded whatever its length: quadratic, 28 s for 200 000 characters, so one
  // SignedPolicy could stall the operator for minutes. A signer longer than any signer string is refused at once.
  test("a signer of a million characters is UnknownSignerFormat, not a stall", async () => {
    const result = await verifySignedPolicy({
      policy: SESSION,
      signatures: [{ signer: "2".repeat(1_000_000), signature: "0".repeat(128) }],
    });
    expect(result.problems.map((p) => p.reason)).toEqual(["UnknownSignerFormat"]);
  }, 10_000);
});
