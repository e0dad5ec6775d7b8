// The simulated CAS's side of every format it shares with scone, checked against examples recorded once from
// scone's client (src/cas/, 2026-12-07) and pasted here as data: the simulator is a second implementation, so it
// must reproduce these bytes by itself — nothing here runs scone's code.
import { describe, expect, test } from "bun:test";
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { auditEntry, chainEnd } from "../../../../sim/cas/audit-log.ts";
import { canonicalJson, hex, unhex } from "../../../../sim/cas/codec.ts";
import { signHex, signingKeyOfSeed, verifyHex } from "../../../../sim/cas/keys-ed25519.ts";
import { keyHashOfEd25519, keyHashOfSpki, keyOfSigner, principalOfPem } from "../../../../sim/cas/principals.ts";
import { signedReport } from "../../../../sim/cas/report.ts";
import { encryptionKeyHex, openSealedBox } from "../../../../sim/cas/sealed-box.ts";
import { hashOfSession, readSession, SessionFormatError, signedEnvelope } from "../../../../sim/cas/session-doc.ts";

// Recorded vectors (inputs and scone's outputs).
const SEED = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
const PUBLIC_KEY = "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664";
const KEY_HASH = "3hyThKSifKrMDeAFMxk6kjmgBQvQN2NDMatkBxq5CiEiLLZfER";
const SIGNER = "8xd2gnS7iptF59KLafumMuMAFg21dZi7seFozAGZhDpzePqRs9Z";
const KEY_HASH_OF_44_ZERO_BYTES = "3xXDdCEHZNcDCaX7jvBWtYV9UHELvo2DXrTskYTWeS3EN7ThgE";
const SIGNATURE_OF_HELLO =
  "e38263cb10254fe3e756fbf1c2a40bcb1b8336e282555ae6ba594a46b9a157bb6643a5ec4ba2a6697411379c33a194923f0c8ef4e631e3b9bd11a0bf30771407";
const SESSION =
  'name: demo/app\nversion: "0.3.10"\n# comment\npredecessor: ~\naccess_policy:\n  read: [CREATOR]\nservices:\n  - name: app\n    environment: {A: "$$SCONE::pw$$", B: 3}\nsecrets:\n  - name: pw\n    kind: ascii\n    size: 12\n';
const SESSION_HASH = "974e027106b06292de2daf817d1ce03ea1eaefa11e89d09b9eb25306b284c816";
/** SESSION with `predecessor: ~` replaced by a 64-hex predecessor in upper case, appended at the end. */
const SESSION_WITH_PREDECESSOR = `${SESSION.replace("predecessor: ~\n", "")}predecessor: ${"AB".repeat(32)}\n`;
const SESSION_WITH_PREDECESSOR_HASH = "62e6b317d5ed1139d6170267dad9d7065f1782ea8f4fcc9c01aa66c9df406cd0";
const SESSION_SIGNATURE =
  "436f6ac2863c6086deb5ecd85d7086a4294c4314568e45cdb4bb4ac2c262aaca653fdd6ab200544867a61869c05ae3ce4411cbaff37552d76db5a95aaf227e0f";
const X25519_PRIVATE = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
const X25519_PUBLIC = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
/** "name: sealed\n" sealed by scone for X25519_PUBLIC. */
const SEALED = "AThrldUT1+u7HiuCpsP4dt0ARRIFAy4fF/vWjxdMJg0VnAT+3gDBBpfV/GVhDJp5y8JmQpOBGqN3kwOdo/KiQpKT6lMFIajYx8Q=";
const REPORT = {
  nonce: "00112233445566778899aabbccddeeff",
  cas_key_hash: "3hyThKSifKrMDeAFMxk6kjmgBQvQN2NDMatkBxq5CiEiLLZfER",
  cas_public_key: "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664",
  software_key_hash: "s",
  session_encryption_key: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  audit_public_key: "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664",
  ca_certificate: "-----BEGIN CERTIFICATE-----\n",
  version: "6.0.6",
  provisioned: false,
  timestamp: "2026-12-07T10:00:00.000Z",
};
const REPORT_SIGNATURE =
  "f82ccaa97aa1cedbdd3be82849ffe877118842cd59503f0930ff8af5f109277a6280d2489cb50351242bc54fa4f00d68169bc78b9b5b3648ab4b1c3174c41601";
const AUDIT_LINES = [
  '{"seq":0,"time":"2026-12-07T10:00:00.000Z","event":"audit_log_enabled","details":{"audit_public_key":"79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"},"prev_signature":null,"signature":"6aeaaefa9a63f604d8d674bc7e2b0ba75395da8350dc839d7dbf8a2aa1fcbe61ecb16477025255fdda49738539c3c2889cddb06a0416e780d03ab857dd93d902"}',
  '{"seq":1,"time":"2026-12-07T10:00:01.000Z","event":"session_created","details":{"session":"demo","hash":"ab","creator":["x"],"via":"plain"},"prev_signature":"6aeaaefa9a63f604d8d674bc7e2b0ba75395da8350dc839d7dbf8a2aa1fcbe61ecb16477025255fdda49738539c3c2889cddb06a0416e780d03ab857dd93d902","signature":"39e097f3edeb6a42dd4a6d3a4d12cc3ec4563f6345850479394ccd9b4fb6d4e95299a875ab224383015c8d71f90414926f8c30ad36e088395ab9120f4a698708"}',
];

const key = signingKeyOfSeed(unhex(SEED, "seed"));

describe("keys and names", () => {
  test("an Ed25519 seed gives the recorded public key, key hash and signer string", () => {
    expect(hex(key.publicKey)).toBe(PUBLIC_KEY);
    expect(keyHashOfEd25519(key.publicKey)).toBe(KEY_HASH);
    expect(keyHashOfSpki(new Uint8Array(44))).toBe(KEY_HASH_OF_44_ZERO_BYTES);
    expect(hex(keyOfSigner(SIGNER) ?? new Uint8Array())).toBe(PUBLIC_KEY);
  });

  test("a signer string with a wrong checksum, tag or length names no key", () => {
    const flipped = SIGNER.slice(0, -1) + (SIGNER.endsWith("1") ? "2" : "1");
    expect(keyOfSigner(flipped)).toBeUndefined();
    expect(keyOfSigner(KEY_HASH)).toBeUndefined();
    expect(keyOfSigner(SIGNER.repeat(3))).toBeUndefined();
  });

  test("an Ed25519 PEM in a policy stands for its signer string, any other key for its key hash", () => {
    const ed25519Pem = createPublicKey({
      key: Buffer.from(`302a300506032b6570032100${PUBLIC_KEY}`, "hex"),
      format: "der",
      type: "spki",
    })
      .export({ type: "spki", format: "pem" })
      .toString();
    expect(principalOfPem(ed25519Pem)).toBe(SIGNER);
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
    const ecSpki = new Uint8Array(ec.export({ type: "spki", format: "der" }));
    expect(principalOfPem(ec.export({ type: "spki", format: "pem" }).toString())).toBe(keyHashOfSpki(ecSpki));
    expect(() => principalOfPem("not a pem")).toThrow();
  });
});

describe("signatures", () => {
  test("Ed25519 signatures match the recorded ones byte for byte and verify", () => {
    expect(signHex(key, "hello scone")).toBe(SIGNATURE_OF_HELLO);
    expect(verifyHex(key.publicKey, "hello scone", SIGNATURE_OF_HELLO)).toBe(true);
    expect(verifyHex(key.publicKey, "hello scone!", SIGNATURE_OF_HELLO)).toBe(false);
    expect(verifyHex(key.publicKey, "hello scone", "00")).toBe(false);
  });
});

describe("sessions", () => {
  test("session hashes equal scone's, whatever the predecessor's case", () => {
    expect(hashOfSession(SESSION)).toBe(SESSION_HASH);
    expect(hashOfSession(SESSION_WITH_PREDECESSOR)).toBe(SESSION_WITH_PREDECESSOR_HASH);
    expect(readSession(SESSION_WITH_PREDECESSOR).predecessor).toBe("ab".repeat(32));
  });

  test("the recorded signed session verifies under its signer", () => {
    const envelope = signedEnvelope({
      session: SESSION,
      signatures: [{ signer: SIGNER, signature: SESSION_SIGNATURE }],
    });
    const signer = keyOfSigner(envelope?.signatures[0]?.signer ?? "");
    expect(signer && verifyHex(signer, envelope?.session ?? "", SESSION_SIGNATURE)).toBe(true);
    expect(signedEnvelope({ session: SESSION, signatures: [{ signer: SIGNER }] })).toBeUndefined();
  });

  test("a session is read into name, policy, secrets and services; a bad field is named", () => {
    const doc = readSession(SESSION);
    expect(doc).toMatchObject({
      name: "demo/app",
      predecessor: null,
      accessPolicy: { read: ["CREATOR"], update: ["CREATOR"], createSessions: ["CREATOR"] },
      secrets: [{ name: "pw", kind: "ascii", size: 12, exportPublic: false }],
      services: [{ name: "app", environment: { A: "$$SCONE::pw$$", B: "3" } }],
    });
    expect(() => readSession("name: a//b\n")).toThrow(SessionFormatError);
    expect(() => readSession("name: a\npredecessor: 12\n")).toThrow(/^predecessor:/);
    expect(() => readSession("name: a\nsecrets: [{name: s, kind: null}]\n")).toThrow("secrets[0].kind");
  });
});

describe("encrypted sessions", () => {
  test("the simulator opens a box scone sealed for its key, and refuses one sealed for another", () => {
    const priv = unhex(X25519_PRIVATE, "key");
    expect(encryptionKeyHex(priv)).toBe(X25519_PUBLIC);
    expect(openSealedBox(SEALED, priv)).toBe("name: sealed\n");
    const other = new Uint8Array(priv);
    other[0] = (other[0] ?? 0) ^ 0x40;
    expect(() => openSealedBox(SEALED, other)).toThrow("cannot be decrypted with this CAS's session encryption key");
    expect(() => openSealedBox("AQ==", priv)).toThrow("not a sealed session");
  });
});

describe("attestation report and audit log", () => {
  test("the report is signed exactly as recorded", () => {
    expect(signedReport(REPORT, key)).toEqual({ report: REPORT, signature: REPORT_SIGNATURE });
    expect(canonicalJson(REPORT).startsWith('{"audit_public_key":')).toBe(true);
  });

  test("audit entries serialise and chain exactly like the recorded lines", () => {
    const first = auditEntry(
      {
        seq: 0,
        time: "2026-12-07T10:00:00.000Z",
        event: "audit_log_enabled",
        details: { audit_public_key: PUBLIC_KEY },
        prev_signature: null,
      },
      key,
    );
    const second = auditEntry(
      {
        seq: 1,
        time: "2026-12-07T10:00:01.000Z",
        event: "session_created",
        details: { session: "demo", hash: "ab", creator: ["x"], via: "plain" },
        prev_signature: first.signature,
      },
      key,
    );
    expect([JSON.stringify(first), JSON.stringify(second)]).toEqual(AUDIT_LINES);
    expect(chainEnd(`${AUDIT_LINES.join("\n")}\n\n`)).toEqual({ seq: 1, signature: second.signature });
    expect(chainEnd("")).toBeUndefined();
    expect(chainEnd('{"seq":1}')).toContain("signature");
  });
});
