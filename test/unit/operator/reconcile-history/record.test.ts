// The bounded reconcile record (src/operator/reconcile-history/record.ts): eviction at N, folding of repeats, a
// size bound whatever the texts, no secrets in what is stored, and a checked decoding of what the cluster holds.
import { describe, expect, test } from "bun:test";
import {
  appendEntry,
  decodeRecord,
  encodeRecord,
  entryOf,
  HISTORY_ENTRIES,
  type HistoryRecord,
  historyConfigMapName,
  isQuiet,
  MAX_ERROR_CHARS,
  MAX_RECORD_BYTES,
  type ReconcileOutcome,
  scrubSecrets,
} from "../../../../src/operator/reconcile-history/record.ts";
import { dnsSubdomain } from "../../../../src/resources/grammar.ts";

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const empty: HistoryRecord = { kind: "CAS", namespace: "prod", name: "cas", entries: [] };
const outcome = (i: number, extra: Partial<ReconcileOutcome> = {}): ReconcileOutcome => ({
  startedAt: T0 + i * 1000,
  durationMs: 12.4,
  outcome: "success",
  actions: [`step ${i}`],
  ...extra,
});

function appendAll(outcomes: readonly ReconcileOutcome[], record = empty): HistoryRecord {
  return outcomes.reduce((r, o) => appendEntry(r, entryOf(o, "pod-a")).record, record);
}

describe("the bounded reconcile record", () => {
  test(`keeps the newest ${HISTORY_ENTRIES} entries, newest first; the oldest are evicted`, () => {
    const r = appendAll(Array.from({ length: HISTORY_ENTRIES + 7 }, (_, i) => outcome(i)));
    expect(r.entries).toHaveLength(HISTORY_ENTRIES);
    expect(r.entries[0]?.actions).toEqual([`step ${HISTORY_ENTRIES + 6}`]);
    expect(r.entries.at(-1)?.actions).toEqual(["step 7"]);
    expect(r.entries.map((e) => e.startedAt)).toEqual([...r.entries.map((e) => e.startedAt)].sort((a, b) => b - a));
  });

  test("identical outcomes in a row fold into one entry (repeats, lastAt); a different one starts a new entry", () => {
    const quiet = (i: number) => outcome(i, { actions: [] });
    let r = appendEntry(empty, entryOf(quiet(0))).record;
    const second = appendEntry(r, entryOf(quiet(1)));
    expect(second.folded).toBe(true);
    expect(isQuiet(entryOf(quiet(1)))).toBe(true);
    r = appendEntry(second.record, entryOf(quiet(2))).record;
    expect(r.entries).toHaveLength(1);
    expect(r.entries[0]).toMatchObject({ startedAt: T0, repeats: 3, lastAt: T0 + 2000 });
    const failed = appendEntry(r, entryOf(outcome(3, { outcome: "error", actions: [], error: "boom" })));
    expect(failed.folded).toBe(false);
    expect(isQuiet(failed.record.entries[0] ?? entryOf(quiet(0)))).toBe(false);
    expect(failed.record.entries.map((e) => e.result)).toEqual(["error", "success"]);
  });

  test("the encoded record stays under MAX_RECORD_BYTES whatever the texts (long errors, many long actions)", () => {
    const huge = (i: number) =>
      outcome(i, {
        outcome: "error",
        error: `failure ${i} ${"x ".repeat(50_000)}`,
        actions: Array.from({ length: 100 }, (_, j) => `action ${i}.${j} ${"y ".repeat(1000)}`),
      });
    const r = appendAll(Array.from({ length: 60 }, (_, i) => huge(i)));
    expect(Buffer.byteLength(encodeRecord(r))).toBeLessThanOrEqual(MAX_RECORD_BYTES);
    expect(r.entries.length).toBeGreaterThan(0);
    const newest = r.entries[0];
    expect(newest?.error?.length).toBeLessThanOrEqual(MAX_ERROR_CHARS);
    expect(newest?.actions.at(-1)).toBe("… 90 more");
    // Not vacuous: the same texts unbounded would be megabytes.
    expect(JSON.stringify(huge(0)).length).toBeGreaterThan(MAX_RECORD_BYTES * 5);
  });

  test("no secrets reach the record: PEM keys, bearer tokens, URL passwords, key=value secrets, long tokens", () => {
    const secrets = {
      pem: "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
      bearer: "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig",
      url: "https://admin:hunter2@s3.example.com/bucket",
      pair: 'password=s3cr3t-value token: abcdef123 "accessKey":"AKIAEXAMPLE"',
      long: "dGhpcyBpcyBhIHZlcnkgbG9uZyBzZWNyZXQgdG9rZW4gdmFsdWUgaW4gYmFzZTY0",
    };
    const e = entryOf(
      outcome(0, {
        outcome: "error",
        error: `CAS refused: ${Object.values(secrets).join(" | ")}`,
        actions: [`sent ${secrets.bearer}`, `fetched ${secrets.url}`],
      }),
    );
    const stored = encodeRecord(appendEntry(empty, e).record);
    for (const leaked of ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "eyJhbGciOiJSUzI1NiJ9", "hunter2", "s3cr3t-value"])
      expect(stored).not.toContain(leaked);
    for (const leaked of ["abcdef123", "AKIAEXAMPLE", secrets.long]) expect(stored).not.toContain(leaked);
    // What is not secret stays readable.
    expect(e.error).toContain("CAS refused:");
    expect(e.actions[1]).toContain("s3.example.com/bucket");
    expect(scrubSecrets("created StatefulSet prod/cas")).toBe("created StatefulSet prod/cas");
    // A secret across the cut at MAX_ERROR_CHARS is scrubbed before the cut: no prefix of it is kept.
    const atCut = entryOf(outcome(1, { outcome: "error", error: `${"x ".repeat(240)}password=TOPSECRETVALUE123` }));
    expect(atCut.error).not.toMatch(/TOPS/);
  });

  test("decoding checks what the cluster holds: malformed entries are dropped, texts re-bounded, junk refused", () => {
    expect(decodeRecord(undefined)).toBeUndefined();
    expect(decodeRecord("{not json")).toBeUndefined();
    expect(decodeRecord(JSON.stringify({ entries: [] }))).toBeUndefined();
    const r = decodeRecord(
      JSON.stringify({
        kind: "CAS",
        namespace: "prod",
        name: "cas",
        entries: [
          { startedAt: T0, durationMs: 3, result: "success", actions: ["a", 7], error: "e".repeat(10_000) },
          { startedAt: "yesterday", result: "success" },
          { startedAt: T0, result: "exploded" },
          ...Array.from({ length: 50 }, () => ({ startedAt: T0, result: "requeue" })),
        ],
      }),
    );
    expect(r?.entries).toHaveLength(HISTORY_ENTRIES);
    expect(r?.entries[0]?.actions).toEqual(["a"]);
    expect(r?.entries[0]?.error?.length).toBe(MAX_ERROR_CHARS);
    expect(r?.entries[1]?.result).toBe("requeue");
  });

  test("the ConfigMap name is a valid object name, per kind, also for the longest resource names", () => {
    expect(historyConfigMapName("CAS", "prod-cas")).toBe("scone-history-cas-prod-cas");
    expect(historyConfigMapName("Vault", "x")).not.toBe(historyConfigMapName("CAS", "x"));
    const long = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`;
    const name = historyConfigMapName("EncryptedPolicy", long);
    expect(dnsSubdomain(name)).toBeUndefined();
    expect(historyConfigMapName("EncryptedPolicy", `${long.slice(0, -1)}e`)).not.toBe(name);
    // A 63-character first label would make the prefixed label too long.
    expect(dnsSubdomain(historyConfigMapName("CAS", "x".repeat(63)))).toBeUndefined();
  });
});
