import { describe, expect, test } from "bun:test";
import { ed25519OfSigner, ed25519Verify, newSeed } from "../../../support/cas-legacy/crypto.ts";
import {
  isSignedSession,
  parentNamespace,
  parseSession,
  sessionHash,
  sessionNameError,
  signSession,
  withPredecessor,
} from "../../../support/cas-legacy/session.ts";

const BASE = `version: "0.3.10"
name: my-ns/app
secrets:
  - name: token
    kind: ascii
    export_public: true
access_policy:
  read: [CREATOR]
  update: [CREATOR, 3s1pm8W6Be6cxvAQRbRP5YXd9YuERAr7KswN97uGtoPkRW87x1]
`;

describe("session names", () => {
  test("accepts the documented alphabet and / namespaces", () => {
    for (const name of ["cas-owner/primary-backup", "a.b~c_d-e", "A", "x".repeat(128), "a/b/c"]) {
      expect(sessionNameError(name)).toBeUndefined();
    }
  });

  test("rejects empty parts, other characters and over-long parts, naming the field", () => {
    for (const name of ["", "a//b", "/a", "a/", "a b", "ä", "x".repeat(129), "a:b"]) {
      expect(sessionNameError(name)).toStartWith("name:");
    }
  });

  test("parent namespace", () => {
    expect(parentNamespace("a/b/c")).toBe("a/b");
    expect(parentNamespace("a")).toBeUndefined();
  });
});

describe("parseSession", () => {
  test("reads name, predecessor, access policy (create_sessions defaults to update) and secrets", () => {
    const doc = parseSession(BASE);
    expect(doc.name).toBe("my-ns/app");
    expect(doc.predecessor).toBeNull();
    expect(doc.accessPolicy.read).toEqual(["CREATOR"]);
    expect(doc.accessPolicy.createSessions).toEqual(doc.accessPolicy.update);
    expect(doc.secrets).toEqual([{ name: "token", kind: "ascii", exportPublic: true }]);
  });

  test("without an access policy only the creator may read and update", () => {
    const doc = parseSession("name: x\n");
    expect(doc.accessPolicy).toEqual({ read: ["CREATOR"], update: ["CREATOR"], createSessions: ["CREATOR"] });
  });

  test("predecessor: ~ means none; a malformed one is an error naming the field", () => {
    expect(parseSession(`${BASE}predecessor: ~\n`).predecessor).toBeNull();
    expect(() => parseSession(`${BASE}predecessor: 1234\n`)).toThrow("predecessor:");
  });

  test("errors name the field", () => {
    expect(() => parseSession("version: 1\n")).toThrow("name: required");
    expect(() => parseSession("name: [1]\n")).toThrow("name: required");
    expect(() => parseSession("name: x\nsecrets: 3\n")).toThrow("secrets: expected a list");
    expect(() => parseSession("name: x\naccess_policy:\n  read: ANY\n")).toThrow("access_policy.read");
    expect(() => parseSession("name: x\ncreator: 3\n")).toThrow("creator.signer");
    expect(() => parseSession("- a\n- b\n")).toThrow("mapping");
    expect(() => parseSession("name: 'x\n")).toThrow("not valid YAML");
  });
});

describe("sessionHash", () => {
  test("ignores formatting, comments and key order but not content", () => {
    const reordered = `# comment
name: my-ns/app
version: "0.3.10"
access_policy: { update: [CREATOR, 3s1pm8W6Be6cxvAQRbRP5YXd9YuERAr7KswN97uGtoPkRW87x1], read: [CREATOR] }
secrets: [{ name: token, export_public: true, kind: ascii }]
`;
    expect(sessionHash(reordered)).toBe(sessionHash(BASE));
    expect(sessionHash(BASE)).toMatch(/^[0-9a-f]{64}$/);
    expect(sessionHash(BASE.replace("token", "token2"))).not.toBe(sessionHash(BASE));
  });

  test("covers the predecessor, so each version of a chain hashes differently", () => {
    const h1 = sessionHash(BASE);
    const v2 = withPredecessor(BASE, h1);
    expect(parseSession(v2).predecessor).toBe(h1);
    expect(sessionHash(v2)).not.toBe(h1);
    expect(sessionHash(`${BASE}predecessor: ~\n`)).toBe(h1);
  });

  test("withPredecessor keeps the rest of the document and can remove it again", () => {
    const v2 = withPredecessor(BASE, "a".repeat(64));
    expect(v2).toContain("name: my-ns/app");
    expect(v2).toContain(`predecessor: ${"a".repeat(64)}`);
    expect(parseSession(withPredecessor(v2, null)).predecessor).toBeNull();
  });
});

describe("signSession", () => {
  test("signs the exact text; the envelope has the documented fields", async () => {
    const signed = await signSession(BASE, newSeed());
    expect(isSignedSession(signed)).toBe(true);
    expect(isSignedSession({ session: BASE })).toBe(false);
    const entry = signed.signatures[0]!;
    const key = ed25519OfSigner(entry.signer)!;
    expect(await ed25519Verify(key, BASE, entry.signature)).toBe(true);
    expect(await ed25519Verify(key, `${BASE} `, entry.signature)).toBe(false);
  });
});
