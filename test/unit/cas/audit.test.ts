import { beforeAll, describe, expect, test } from "bun:test";
import { type AuditEntry, verifyAuditLog } from "../../../src/cas/audit.ts";
import { type AttestationReport, casKeyHashOf, signReport } from "../../support/cas-legacy/attestation.ts";
import { signAuditEntry, verifyAnchoredAuditLog } from "../../support/cas-legacy/audit.ts";
import { type Ed25519KeyPair, ed25519FromSeed, newSeed, toHex } from "../../support/cas-legacy/crypto.ts";

let auditKey: Ed25519KeyPair;
let casKey: Ed25519KeyPair;
let lines: string[];

async function chain(
  events: [string, Record<string, unknown>][],
  key: Ed25519KeyPair,
  startSeq = 0,
  prev: string | null = null,
) {
  const out: AuditEntry[] = [];
  let previous = prev;
  for (const [i, [event, details]] of events.entries()) {
    const entry = await signAuditEntry(
      { seq: startSeq + i, time: new Date(0).toISOString(), event, details, prev_signature: previous },
      key,
    );
    out.push(entry);
    previous = entry.signature;
  }
  return out;
}

function report(auditPublicKey: string): AttestationReport {
  return {
    nonce: "00".repeat(16),
    cas_key_hash: casKeyHashOf(casKey.publicKey),
    cas_public_key: toHex(casKey.publicKey),
    software_key_hash: "x",
    session_encryption_key: "00".repeat(32),
    audit_public_key: auditPublicKey,
    ca_certificate: "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
    version: "6.0.6",
    provisioned: false,
    timestamp: new Date(0).toISOString(),
  };
}

beforeAll(async () => {
  auditKey = await ed25519FromSeed(newSeed());
  casKey = await ed25519FromSeed(newSeed());
  const entries = await chain(
    [
      ["audit_log_enabled", { audit_public_key: toHex(auditKey.publicKey) }],
      ["audit_log_attestation_report", { report: await signReport(report(toHex(auditKey.publicKey)), casKey) }],
      ["cas_started", { version: "6.0.6" }],
      ["session_created", { session: "a", hash: "1".repeat(64) }],
      ["session_updated", { session: "a", hash: "2".repeat(64) }],
    ],
    auditKey,
  );
  lines = entries.map((e) => JSON.stringify(e));
});

describe("verifyAuditLog", () => {
  test("an intact chain verifies and is anchored by the CAS report", async () => {
    const result = await verifyAnchoredAuditLog(`${lines.join("\n")}\n`, casKeyHashOf(casKey.publicKey));
    expect(result).toMatchObject({ ok: true, entries: 5, firstSeq: 0, anchored: true });
    expect(await verifyAuditLog(lines.join("\n"))).toMatchObject({ ok: true, entries: 5, firstSeq: 0, lastSeq: 4 });
  });

  test("an edited line is detected at that line", async () => {
    const tampered = [...lines];
    tampered[3] = tampered[3]!.replace('"session":"a"', '"session":"b"');
    expect(await verifyAuditLog(tampered.join("\n"))).toEqual({
      ok: false,
      line: 4,
      reason: "signature does not verify (entry altered, or signed by another key)",
    });
  });

  test("reordered, deleted and duplicated lines are detected", async () => {
    const reordered = [lines[0], lines[1], lines[3], lines[2], lines[4]].join("\n");
    expect(await verifyAuditLog(reordered)).toMatchObject({ ok: false, line: 3 });
    const deleted = [lines[0], lines[1], lines[3], lines[4]].join("\n");
    expect(await verifyAuditLog(deleted)).toMatchObject({ ok: false, line: 3 });
    const duplicated = [...lines, lines[4]].join("\n");
    expect(await verifyAuditLog(duplicated)).toMatchObject({ ok: false, line: 6 });
  });

  test("a chain re-signed with another key fails against the announced or given key", async () => {
    const forger = await ed25519FromSeed(newSeed());
    const forged = await chain([["audit_log_enabled", { audit_public_key: toHex(auditKey.publicKey) }]], forger);
    expect(await verifyAuditLog(JSON.stringify(forged[0]))).toMatchObject({ ok: false, line: 1 });
    expect(await verifyAuditLog(lines.join("\n"), { auditPublicKey: toHex(forger.publicKey) })).toMatchObject({
      ok: false,
      line: 1,
    });
  });

  test("a report from another CAS does not anchor the chain", async () => {
    const other = await ed25519FromSeed(newSeed());
    expect(await verifyAnchoredAuditLog(lines.join("\n"), casKeyHashOf(other.publicKey))).toMatchObject({
      ok: false,
      line: 2,
    });
  });

  test("a continued log verifies with the predecessor signature; a truncated tail fails `last`", async () => {
    const tail = lines.slice(2).join("\n");
    expect((await verifyAuditLog(tail, { auditPublicKey: toHex(auditKey.publicKey) })).ok).toBe(false);
    const predecessor = (JSON.parse(lines[1]!) as AuditEntry).signature;
    const continued = await verifyAuditLog(tail, { auditPublicKey: toHex(auditKey.publicKey), predecessor });
    expect(continued).toMatchObject({ ok: true, firstSeq: 2 });
    const last = (JSON.parse(lines[4]!) as AuditEntry).signature;
    expect((await verifyAuditLog(lines.join("\n"), { last })).ok).toBe(true);
    expect(await verifyAuditLog(lines.slice(0, 4).join("\n"), { last })).toMatchObject({ ok: false, line: 4 });
  });

  test("malformed lines are reported with their line number", async () => {
    expect(await verifyAuditLog(`${lines[0]}\n{"seq":"one"}`)).toEqual({
      ok: false,
      line: 2,
      reason: "seq: not an integer",
    });
    expect(await verifyAuditLog("not json")).toEqual({ ok: false, line: 1, reason: "not JSON" });
  });
});
