import { beforeAll, describe, expect, test } from "bun:test";
import {
  type AttestationReport,
  CasAttestationError,
  casKeyHashOf,
  parseSignedReport,
  type SignedAttestationReport,
  signReport,
  verifyReport,
} from "../../../support/cas-legacy/attestation.ts";
import { type Ed25519KeyPair, ed25519FromSeed, newSeed, toHex } from "../../../support/cas-legacy/crypto.ts";

const NONCE = "0123456789abcdef0123456789abcdef";
let casKey: Ed25519KeyPair;
let signed: SignedAttestationReport;
let casKeyHash: string;

beforeAll(async () => {
  casKey = await ed25519FromSeed(newSeed());
  casKeyHash = casKeyHashOf(casKey.publicKey);
  const report: AttestationReport = {
    nonce: NONCE,
    cas_key_hash: casKeyHash,
    cas_public_key: toHex(casKey.publicKey),
    software_key_hash: "s",
    session_encryption_key: "ab".repeat(32),
    audit_public_key: "cd".repeat(32),
    ca_certificate: "CA",
    version: "6.0.6",
    provisioned: true,
    timestamp: "2026-01-01T00:00:00.000Z",
  };
  signed = await signReport(report, casKey);
});

describe("verifyReport", () => {
  test("accepts a report signed by the expected CAS key echoing the nonce", async () => {
    expect((await verifyReport(signed, { nonce: NONCE.toUpperCase(), casKeyHash })).version).toBe("6.0.6");
  });

  test("rejects another nonce (replay)", async () => {
    await expect(verifyReport(signed, { nonce: "f".repeat(32), casKeyHash })).rejects.toThrow("nonce");
  });

  test("rejects another CAS key hash", async () => {
    const other = casKeyHashOf((await ed25519FromSeed(newSeed())).publicKey);
    await expect(verifyReport(signed, { nonce: NONCE, casKeyHash: other })).rejects.toThrow("expected");
  });

  test("rejects a modified field", async () => {
    const modified = { ...signed, report: { ...signed.report, session_encryption_key: "ef".repeat(32) } };
    await expect(verifyReport(modified, { nonce: NONCE, casKeyHash })).rejects.toBeInstanceOf(CasAttestationError);
  });

  test("rejects a report whose public key does not match its key hash", async () => {
    const swapped = { ...signed, report: { ...signed.report, cas_public_key: "00".repeat(32) } };
    await expect(verifyReport(swapped, { nonce: NONCE, casKeyHash })).rejects.toThrow("does not match");
  });

  test("parseSignedReport names the missing field", () => {
    expect(() => parseSignedReport({ report: { nonce: NONCE }, signature: "x" })).toThrow("report.cas_key_hash");
    expect(() => parseSignedReport("nope")).toThrow("not a signed report");
  });
});
