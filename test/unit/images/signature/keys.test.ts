import { describe, expect, test } from "bun:test";
import { generateKeyPairSync, sign } from "node:crypto";
import { SignaturePolicyError, signatureFlags, signaturePolicy } from "../../../../src/images/signature/policy.ts";
import { KeyError, parsePublicKey } from "../../../../src/images/signature/public-key.ts";
import { SCONTAIN_KEY_NAME } from "../../../../src/images/signature/scontain-key.ts";

const payload = new TextEncoder().encode('{"critical":{}}');
const pemOf = (k: { export: (o: { type: "spki"; format: "pem" }) => string | Buffer }) =>
  String(k.export({ type: "spki", format: "pem" }));

describe("parsePublicKey", () => {
  test("ECDSA P-256: a DER signature over SHA-256 verifies (cosign's format); a raw r||s one and another payload do not", () => {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const key = parsePublicKey(pemOf(publicKey), "cosign.pub");
    expect(key.kind).toBe("ECDSA P-256");
    const der = sign("sha256", payload, { key: privateKey, dsaEncoding: "der" });
    expect(key.verify(payload, der)).toBe(true);
    expect(key.verify(new TextEncoder().encode('{"critical":{ }}'), der)).toBe(false);
    expect(key.verify(payload, sign("sha256", payload, { key: privateKey, dsaEncoding: "ieee-p1363" }))).toBe(false);
  });

  test("Ed25519 verifies over the payload itself", () => {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const key = parsePublicKey(pemOf(publicKey), "ed.pub");
    expect(key.kind).toBe("Ed25519");
    expect(key.verify(payload, sign(null, payload, privateKey))).toBe(true);
    const other = generateKeyPairSync("ed25519").privateKey;
    expect(key.verify(payload, sign(null, payload, other))).toBe(false);
  });

  test("malformed signatures are false, never a throw: empty, garbage, oversized", () => {
    const key = parsePublicKey(pemOf(generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey), "k");
    expect(key.verify(payload, new Uint8Array())).toBe(false);
    expect(key.verify(payload, new Uint8Array([0x30, 0x02, 0x01]))).toBe(false);
    expect(key.verify(payload, new Uint8Array(4096))).toBe(false);
  });

  test("refuses RSA keys, private keys and non-PEM text, naming the key", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    expect(() => parsePublicKey(pemOf(rsa.publicKey), "rsa.pub")).toThrow(/rsa.pub: rsa keys are not supported/);
    const priv = String(rsa.privateKey.export({ type: "pkcs8", format: "pem" }));
    expect(() => parsePublicKey(priv, "cosign.key")).toThrow(/cosign.key: not a PEM public key.*never the private key/);
    expect(() => parsePublicKey("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "x.pub")).toThrow(
      KeyError,
    );
    expect(() => parsePublicKey("x".repeat(20000), "big.pub")).toThrow(/larger than/);
  });
});

describe("signaturePolicy", () => {
  test("default: the built-in Scontain key (ECDSA P-256)", () => {
    const p = signaturePolicy(signatureFlags({}));
    expect(p.check && p.key.name).toBe(SCONTAIN_KEY_NAME);
    expect(p.check && p.key.kind).toBe("ECDSA P-256");
  });
  test("--no-image-signature-check: no check", () => {
    expect(signaturePolicy(signatureFlags({ "image-signature-check": false }))).toEqual({ check: false });
  });
  test("--verify-image-signatures FILE: that key, named by its path", () => {
    const pem = pemOf(generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey);
    const p = signaturePolicy(signatureFlags({ "verify-image-signatures": "/keys/mirror.pub" }), () => pem);
    expect(p.check && p.key.name).toBe("/keys/mirror.pub");
  });
  test("both flags contradict: refused naming both", () => {
    expect(() =>
      signaturePolicy(signatureFlags({ "verify-image-signatures": "k.pub", "image-signature-check": false })),
    ).toThrow(/--verify-image-signatures and --no-image-signature-check contradict/);
  });
  test("a missing file, a directory and a bad key are refused naming the flag and the path", () => {
    expect(() => signaturePolicy({ check: true, verifyKey: "/nonexistent/k.pub" })).toThrow(
      /--verify-image-signatures \/nonexistent\/k.pub: cannot read it \(ENOENT\)/,
    );
    expect(() => signaturePolicy({ check: true, verifyKey: "/tmp" })).toThrow(/\/tmp: not a regular file/);
    expect(() => signaturePolicy({ check: true, verifyKey: "k.pub" }, () => "hello")).toThrow(SignaturePolicyError);
    expect(() => signaturePolicy({ check: true, verifyKey: " " })).toThrow(/give the path of a PEM public key/);
  });
});
