import { describe, expect, test } from "bun:test";
import {
  base58Decode,
  base58Encode,
  canonicalJson,
  ed25519FromSeed,
  ed25519OfSigner,
  ed25519Sign,
  ed25519Spki,
  ed25519Verify,
  isKeyHash,
  keyHashOfPem,
  keyHashOfSpki,
  newSeed,
  newX25519KeyPair,
  openSealed,
  parseSessionEncryptionKey,
  principalOfPublicKeyPem,
  sealToKey,
  signerOfEd25519,
  toHex,
} from "../../../support/cas-legacy/crypto.ts";
import { generateIdentityPem } from "../../../support/cas-legacy/identity.ts";

describe("canonicalJson", () => {
  test("sorts keys at every level and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: null }], c: undefined } })).toBe(
      '{"a":{"d":[2,{"y":null,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
  });
});

describe("base58 and key hashes", () => {
  test("round-trips bytes including leading zeros", () => {
    const bytes = new Uint8Array([0, 0, 1, 2, 255, 128]);
    expect(base58Decode(base58Encode(bytes))).toEqual(bytes);
    expect(base58Decode("0OIl")).toBeUndefined();
  });

  test("a key hash depends on the key, not on the certificate", async () => {
    const identity = await generateIdentityPem("one");
    const fromCert = keyHashOfPem(identity.certPem);
    expect(keyHashOfPem(identity.keyPem)).toBe(fromCert);
    expect(isKeyHash(fromCert)).toBe(true);
    expect(fromCert.length).toBeGreaterThanOrEqual(45);
    const other = await generateIdentityPem("one");
    expect(keyHashOfPem(other.certPem)).not.toBe(fromCert);
  });

  test("a corrupted key hash is not a key hash", () => {
    const hash = keyHashOfSpki(new Uint8Array([1, 2, 3]));
    const flipped = hash.slice(0, -1) + (hash.endsWith("2") ? "3" : "2");
    expect(isKeyHash(flipped)).toBe(false);
  });
});

describe("Ed25519 session signing", () => {
  test("the signer string encodes the public key; signatures verify only over the signed text", async () => {
    const key = await ed25519FromSeed(newSeed());
    const signer = signerOfEd25519(key.publicKey);
    expect(ed25519OfSigner(signer)).toEqual(key.publicKey);
    const signature = await ed25519Sign(key, "name: x\n");
    expect(signature).toMatch(/^[0-9a-f]{128}$/);
    expect(await ed25519Verify(key.publicKey, "name: x\n", signature)).toBe(true);
    expect(await ed25519Verify(key.publicKey, "name: y\n", signature)).toBe(false);
    expect(await ed25519Verify(key.publicKey, "name: x\n", "zz")).toBe(false);
  });

  test("the same seed always gives the same key", async () => {
    const seed = newSeed();
    expect((await ed25519FromSeed(seed)).publicKey).toEqual((await ed25519FromSeed(seed)).publicKey);
    await expect(ed25519FromSeed(new Uint8Array(31))).rejects.toThrow("32 bytes");
  });

  test("a key hash is not accepted as a signer string, and a corrupted signer is rejected", async () => {
    const key = await ed25519FromSeed(newSeed());
    expect(ed25519OfSigner(keyHashOfSpki(ed25519Spki(key.publicKey)))).toBeUndefined();
    const signer = signerOfEd25519(key.publicKey);
    const swapped = signer[10] === "x" ? "y" : "x";
    expect(ed25519OfSigner(`${signer.slice(0, 10)}${swapped}${signer.slice(11)}`)).toBeUndefined();
  });

  test("access-policy signer PEMs resolve to the signer string for Ed25519 keys", async () => {
    const key = await ed25519FromSeed(newSeed());
    const pem = `-----BEGIN PUBLIC KEY-----\n${Buffer.from(ed25519Spki(key.publicKey)).toString("base64")}\n-----END PUBLIC KEY-----\n`;
    expect(principalOfPublicKeyPem(pem)).toBe(signerOfEd25519(key.publicKey));
  });
});

describe("sealed sessions", () => {
  test("open(seal(x)) = x for the recipient, and for nobody else", async () => {
    const cas = await newX25519KeyPair();
    const other = await newX25519KeyPair();
    const sealed = await sealToKey("name: secret-session\n", toHex(cas.publicKey));
    expect(await openSealed(sealed, cas.privateKey)).toBe("name: secret-session\n");
    await expect(openSealed(sealed, other.privateKey)).rejects.toThrow("cannot be decrypted");
  });

  test("a modified box is rejected", async () => {
    const cas = await newX25519KeyPair();
    const box = Buffer.from(await sealToKey("name: a\n", toHex(cas.publicKey)), "base64");
    box[box.length - 1] = (box[box.length - 1] ?? 0) ^ 1;
    await expect(openSealed(box.toString("base64"), cas.privateKey)).rejects.toThrow("cannot be decrypted");
    await expect(openSealed("AAAA", cas.privateKey)).rejects.toThrow("not a sealed session");
  });

  test("the encryption key must be 64 hex characters", () => {
    expect(() => parseSessionEncryptionKey("abc")).toThrow("encryption_key: expected 64 hex");
  });
});
