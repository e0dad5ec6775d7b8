// CAS audit-log lines come from a pod's log stream: outside input. Whatever a line holds, parseAuditLine returns an
// entry or a reason, verifyAuditLog returns a result (never throws), and AuditChain.check classifies the line. A
// well-formed chain keeps verifying; any edit to a signed line that changes what it says is reported.
import { beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { type AuditEntry, parseAuditLine, verifyAuditLog } from "../../src/cas/audit.ts";
import { AuditChain } from "../../src/flows/audit/chain.ts";
import { streamLines } from "../../src/flows/audit/flow.ts";
import { casKeyHashOf, signReport } from "../support/cas-legacy/attestation.ts";
import { signAuditEntry, verifyAnchoredAuditLog } from "../support/cas-legacy/audit.ts";
import { type Ed25519KeyPair, ed25519FromSeed, toHex } from "../support/cas-legacy/crypto.ts";
import { fuzzParams } from "./parser-runs.ts";

let key: Ed25519KeyPair;
let casKey: Ed25519KeyPair;
let lines: string[];

beforeAll(async () => {
  key = await ed25519FromSeed(new Uint8Array(32).fill(7));
  casKey = await ed25519FromSeed(new Uint8Array(32).fill(9));
  const report = {
    nonce: "00".repeat(16),
    cas_key_hash: casKeyHashOf(casKey.publicKey),
    cas_public_key: toHex(casKey.publicKey),
    software_key_hash: "x",
    session_encryption_key: "00".repeat(32),
    audit_public_key: toHex(key.publicKey),
    ca_certificate: "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
    version: "6.0.6",
    provisioned: false,
    timestamp: new Date(0).toISOString(),
  };
  const events: [string, Record<string, unknown>][] = [
    ["audit_log_enabled", { audit_public_key: toHex(key.publicKey) }],
    ["audit_log_attestation_report", { report: await signReport(report, casKey) }],
    ["session_created", { session: "a", hash: "1".repeat(64) }],
  ];
  let prev: string | null = null;
  const entries: AuditEntry[] = [];
  for (const [seq, [event, details]] of events.entries()) {
    const entry: AuditEntry = await signAuditEntry(
      { seq, time: new Date(0).toISOString(), event, details, prev_signature: prev },
      key,
    );
    entries.push(entry);
    prev = entry.signature;
  }
  lines = entries.map((e) => JSON.stringify(e));
});

const field = (good: fc.Arbitrary<unknown>) => fc.oneof(good, fc.anything({ maxDepth: 2 }));
const entryShaped = fc
  .record(
    {
      seq: field(fc.integer({ min: -2, max: 5 })),
      time: field(fc.constant("1970-01-01T00:00:00.000Z")),
      event: field(fc.constantFrom("audit_log_enabled", "audit_log_attestation_report", "x", "")),
      details: field(
        fc.record(
          {
            audit_public_key: field(fc.constantFrom("00".repeat(32), "zz", "0".repeat(63))),
            report: fc.anything({ maxDepth: 3 }),
          },
          { requiredKeys: [] },
        ),
      ),
      prev_signature: field(fc.constantFrom(null, "0".repeat(128))),
      signature: field(fc.constantFrom("0".repeat(128), "")),
    },
    { requiredKeys: [] },
  )
  .map((v) => JSON.stringify(v));
const anyLine = fc.oneof(fc.string({ unit: "binary", maxLength: 200 }), entryShaped);

describe("audit log lines (fuzz)", () => {
  test("parseAuditLine and verifyAuditLog never throw", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyLine, { maxLength: 4 }), async (ls) => {
        for (const l of ls) {
          const parsed = parseAuditLine(l);
          expect(typeof parsed === "string" || typeof parsed.seq === "number").toBe(true);
        }
        const result = await verifyAnchoredAuditLog(ls.join("\n"), casKeyHashOf(casKey.publicKey));
        expect(typeof (await verifyAuditLog(ls.join("\n"))).ok).toBe("boolean");
        expect(typeof result.ok).toBe("boolean");
      }),
      fuzzParams(),
    );
  });

  test("AuditChain.check classifies any line", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyLine, { maxLength: 4 }), async (ls) => {
        const chain = new AuditChain();
        for (const l of ls) expect(["entry", "other", "malformed"]).toContain((await chain.check(l)).kind);
      }),
      fuzzParams(),
    );
  });

  test("a signed log with one edited character verifies only if the edit left the entry's meaning alone", async () => {
    const log = () => lines.join("\n");
    const casKeyHash = () => casKeyHashOf(casKey.publicKey);
    expect(await verifyAnchoredAuditLog(log(), casKeyHash())).toMatchObject({ ok: true, anchored: true });
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.string({ minLength: 1, maxLength: 2 }), async (at, insert) => {
        const text = log();
        const i = at % text.length;
        const edited = text.slice(0, i) + insert + text.slice(i + 1);
        const result = await verifyAnchoredAuditLog(edited, casKeyHash());
        if (result.ok) {
          // Only whitespace or an equivalent JSON spelling may pass: every line still means the same entry.
          const same = edited.split("\n").filter((l) => l.trim() !== "");
          expect(same.map((l) => JSON.stringify(parseAuditLine(l.trim())))).toEqual(
            lines.map((l) => JSON.stringify(parseAuditLine(l))),
          );
        }
      }),
      fuzzParams(0.5),
    );
  });
});

describe("audit log regressions", () => {
  // canonicalJson recursed into details: 10 000 nested arrays threw RangeError (stack overflow).
  test("deeply nested details are a reason, not a stack overflow", async () => {
    const deep = `${"[".repeat(50_000)}${"]".repeat(50_000)}`;
    const line = `{"seq":0,"time":"t","event":"audit_log_enabled","details":{"audit_public_key":"${"00".repeat(32)}","x":${deep}},"prev_signature":null,"signature":"${"0".repeat(128)}"}`;
    expect(parseAuditLine(line)).toBe("details: nested deeper than 64 levels");
    expect(await verifyAuditLog(line)).toEqual({ ok: false, line: 1, reason: "details: nested deeper than 64 levels" });
    expect(await new AuditChain().check(line)).toMatchObject({ kind: "malformed" });
  });

  // fromHex threw a plain Error out of verifyAuditLog and AuditChain.check.
  test("an announced audit key that is not 64 hex is a reason", async () => {
    const line = JSON.stringify({
      seq: 0,
      time: "t",
      event: "audit_log_enabled",
      details: { audit_public_key: "zz" },
      prev_signature: null,
      signature: "0".repeat(128),
    });
    expect(await verifyAuditLog(line)).toEqual({
      ok: false,
      line: 1,
      reason: "audit_public_key: expected 64 hex characters (an Ed25519 public key)",
    });
    expect(await new AuditChain().check(line)).toMatchObject({ kind: "entry", ok: false });
  });
});

describe("audit log signature spelling (regression)", () => {
  // Found by the edit property: an upper-cased hex digit in a signature still verified, so one entry had two
  // spellings (entries are chained and indexed by the signature string).
  test("a signature in upper-case hex is refused", async () => {
    const last = lines[lines.length - 1] ?? "";
    const entry = parseAuditLine(last);
    if (typeof entry === "string") throw new Error(entry);
    const upper = last.replace(entry.signature, entry.signature.toUpperCase());
    expect(parseAuditLine(upper)).toBe("signature: expected 128 lower-case hex characters (an Ed25519 signature)");
    expect(await verifyAuditLog([...lines.slice(0, -1), upper].join("\n"))).toMatchObject({
      ok: false,
      line: lines.length,
    });
  });
});

describe("streamLines (fuzz)", () => {
  const streamOf = (chunks: Uint8Array[]) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(c);
        controller.close();
      },
    });
  const collect = async (chunks: Uint8Array[]) => {
    const out: string[][] = [];
    for await (const lines of streamLines(streamOf(chunks))) out.push(lines);
    return out;
  };

  test("any text cut into any chunks (even inside a UTF-8 character) gives back its lines", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: fc.constantFrom("a", "\n", " ", "é", "€", "𝄞", "{"), maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (text, cuts) => {
          const bytes = new TextEncoder().encode(text);
          const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const chunks = [0, ...at].map((start, i) => bytes.slice(start, [...at, bytes.length][i]));
          const expected = text.split("\n");
          const last = expected.pop() ?? "";
          if (last.trim() !== "") expected.push(last);
          const got = await collect(chunks);
          expect(got.every((lines) => lines.length > 0)).toBe(true);
          expect(got.flat()).toEqual(expected);
        },
      ),
      fuzzParams(),
    );
  });

  // Each chunk re-split everything received since the last newline: a 16 MiB line in 1 KiB chunks scanned
  // ~130 GB. Now each chunk is searched once.
  test("a long line without a newline, in small chunks, is read in linear time", async () => {
    const chunk = new TextEncoder().encode("x".repeat(1024));
    const chunks = Array.from({ length: 16 * 1024 }, () => chunk);
    const got = await collect([...chunks, new TextEncoder().encode("\nend")]);
    expect(got.flat().map((l) => l.length)).toEqual([16 * 1024 * 1024, 3]);
  }, 20_000);
});
