// The audit-log archive's pure parts (keys, segments, the resume planner, the segmenter) and its thin I/O over a
// directory target (read back with digests checked, the index rebuilt from it).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listTargetBackups } from "../../../../src/backup/list.ts";
import { LocalDirectoryTarget } from "../../../../src/backup/local-target.ts";
import { listArchive, readArchive, writeSegment } from "../../../../src/flows/audit/archive/archive.ts";
import {
  casPrefix,
  logEndKey,
  parseListing,
  parseLogEnds,
  segmentKeys,
} from "../../../../src/flows/audit/archive/layout.ts";
import { unendedLogs } from "../../../../src/flows/audit/archive/log-end.ts";
import {
  coverageOf,
  isShipped,
  lagSeconds,
  nextCut,
  overlapsOf,
  type PendingEntry,
  withShipped,
} from "../../../../src/flows/audit/archive/plan.ts";
import { indexMissing, rebuildAuditIndex } from "../../../../src/flows/audit/archive/rebuild.ts";
import {
  buildSegment,
  checkSegmentBytes,
  parseSegmentManifest,
  type ShippedEntry,
} from "../../../../src/flows/audit/archive/segment.ts";
import { searchAuditIndex } from "../../../../src/flows/audit/flow.ts";
import { openStore } from "../../../../src/store/open.ts";
import { signedEntries } from "../../../harness/signed-audit-log.ts";

const CAS = { namespace: "ns1", name: "cas" };
const LOG = "a".repeat(128);
const VERDICT = {
  exitCode: 0,
  meaning: "fully correct",
  correct: true,
  against: "cas" as const,
  keyVouched: true,
  by: "test",
};
const POD = { name: "cas-0", uid: "u1" };

const listed = (first: number, last: number, halves = { hasEntries: true, hasManifest: true }, log = LOG) => ({
  log,
  first,
  last,
  ...halves,
});

describe("layout: keys are built from checked parts, listings are read strictly", () => {
  test("a segment's keys: _audit/<ns>/<cas>/<log>/<first>-<last>.log|.json, seqs zero-padded", () => {
    expect(segmentKeys(CAS, LOG, { first: 0, last: 41 })).toEqual({
      entries: `_audit/ns1/cas/${LOG}/000000000000-000000000041.log`,
      manifest: `_audit/ns1/cas/${LOG}/000000000000-000000000041.json`,
    });
  });

  test("bad parts are refused before any key exists, naming the field", () => {
    expect(() => casPrefix({ namespace: "../x", name: "cas" })).toThrow(/namespace/);
    expect(() => casPrefix({ namespace: "ns", name: "a/b" })).toThrow(/CAS name/);
    expect(() => segmentKeys(CAS, "../../etc", { first: 0, last: 1 })).toThrow(/128 lower-case hex/);
    expect(() => segmentKeys(CAS, LOG, { first: 5, last: 4 })).toThrow(/ends \(4\) before it starts \(5\)/);
    expect(() => segmentKeys(CAS, LOG, { first: -1, last: 4 })).toThrow(/first seq -1/);
  });

  test("a listing keeps only keys of the layout; halves are paired", () => {
    const p = `_audit/ns1/cas/${LOG}`;
    const segs = parseListing(CAS, [
      `${p}/000000000000-000000000009.log`,
      `${p}/000000000000-000000000009.json`,
      `${p}/000000000010-000000000019.log`,
      `${p}/000000000010-000000000019.json.tmp`,
      `${p}/x/000000000020-000000000029.log`,
      `_audit/ns1/cas/${"b".repeat(127)}/000000000000-000000000001.log`,
      `_audit/ns1/cas-2/${LOG}/000000000000-000000000001.log`,
      `${p}/000000000030-000000000020.log`,
    ]);
    expect(segs).toEqual([
      { log: LOG, first: 0, last: 9, hasEntries: true, hasManifest: true },
      { log: LOG, first: 10, last: 19, hasEntries: true, hasManifest: false },
    ]);
  });

  test("a log's end record sits beside its folder: no segment to a listing, found only in the exact layout", () => {
    expect(logEndKey(CAS, LOG)).toBe(`_audit/ns1/cas/${LOG}.end.json`);
    expect(() => logEndKey(CAS, "../x")).toThrow(/128 lower-case hex/);
    const other = "c".repeat(128);
    const keys = [
      logEndKey(CAS, LOG),
      `_audit/ns1/cas/${LOG}/000000000000-000000000009.log`,
      `_audit/ns1/cas/${LOG}/000000000000-000000000009.json`,
      `_audit/ns1/cas/${other}/${other}.end.json`,
      `_audit/ns1/cas-2/${other}.end.json`,
      `_audit/ns1/cas/${"d".repeat(127)}.end.json`,
    ];
    expect([...parseLogEnds(CAS, keys)]).toEqual([LOG]);
    expect(parseListing(CAS, keys).map((s) => [s.first, s.last])).toEqual([[0, 9]]);
    // Which logs lack one: those with shipped segments, other than the one being shipped.
    const segs = [
      listed(0, 9),
      listed(0, 3, undefined, other),
      listed(0, 1, { hasEntries: true, hasManifest: false }, "e".repeat(128)),
    ];
    expect(unendedLogs(segs, new Set(), LOG)).toEqual([{ log: other, through: 3 }]);
    expect(unendedLogs(segs, new Set([other]), LOG)).toEqual([]);
  });
});

describe("segment: bytes, manifest, digest", () => {
  test("the bytes are the entries' lines; the manifest names them and their sha256; tampering is refused", async () => {
    const entries = await signedEntries(3);
    const { bytes, manifest } = buildSegment({
      cas: CAS,
      log: LOG,
      entries,
      verification: VERDICT,
      shippedAt: new Date(0),
      pod: POD,
    });
    expect(new TextDecoder().decode(bytes)).toBe(`${entries.map((e) => e.raw).join("\n")}\n`);
    expect(manifest).toMatchObject({ firstSeq: 0, lastSeq: 2, entries: 3, lastSignature: entries[2]?.signature });
    const parsed = parseSegmentManifest(JSON.stringify(manifest), { ...CAS, log: LOG, first: 0, last: 2 });
    expect(typeof parsed).toBe("object");
    expect(checkSegmentBytes(bytes, manifest)).toEqual(entries.map((e) => e.raw));
    const altered = new TextEncoder().encode(new TextDecoder().decode(bytes).replace("session_read", "session_xead"));
    expect(checkSegmentBytes(altered, manifest)).toBe("sha256 does not match the manifest");
    expect(parseSegmentManifest(JSON.stringify(manifest), { ...CAS, log: LOG, first: 0, last: 3 })).toBe(
      "manifest names other seqs than its key",
    );
  });

  test("entries that are not consecutive make no segment", async () => {
    const entries = await signedEntries(3);
    expect(() =>
      buildSegment({
        cas: CAS,
        log: LOG,
        entries: [entries[0], entries[2]] as ShippedEntry[],
        verification: VERDICT,
        shippedAt: new Date(0),
        pod: POD,
      }),
    ).toThrow(/not consecutive at seq 2/);
  });
});

describe("plan: the resume point comes from the archive", () => {
  test("complete segments are shipped; a half (interrupted write) counts for nothing and is to be removed", () => {
    const c = coverageOf([listed(0, 9), listed(10, 19), listed(20, 29, { hasEntries: true, hasManifest: false })], LOG);
    expect(c.through).toBe(19);
    expect(c.shipped).toEqual([{ first: 0, last: 19 }]);
    expect(c.incomplete.map((s) => s.first)).toEqual([20]);
    expect(isShipped(c, 19)).toBe(true);
    expect(isShipped(c, 20)).toBe(false);
  });

  test("a gap stays unshipped (shipped again when read again); another log's segments do not count", () => {
    const c = coverageOf([listed(0, 9), listed(20, 29), listed(10, 15, undefined, "b".repeat(128))], LOG);
    expect(c.through).toBe(29);
    expect(isShipped(c, 12)).toBe(false);
    expect(withShipped(c, { first: 10, last: 19 }).shipped).toEqual([{ first: 0, last: 29 }]);
  });

  test("overlapping segments (two writers at a leader change) are reported", () => {
    expect(overlapsOf([listed(0, 9), listed(5, 14)], LOG)).toEqual([{ first: 5, last: 9 }]);
    expect(overlapsOf([listed(0, 9), listed(10, 14)], LOG)).toEqual([]);
  });
});

describe("nextCut: when pending entries become a segment", () => {
  const policy = { maxEntries: 3, maxBytes: 1000, maxAgeMs: 5_000 };
  const pending = (seqs: number[], readAtMs = 0, size = 10): PendingEntry[] =>
    seqs.map((seq) => ({ seq, time: "", signature: "", raw: "x".repeat(size), readAtMs }));

  test("by count, by age, at the end of the log; nothing while young and few", () => {
    expect(nextCut(pending([0, 1, 2, 3]), policy, 0, false)).toBe(3);
    expect(nextCut(pending([0, 1]), policy, 4_999, false)).toBe(0);
    expect(nextCut(pending([0, 1]), policy, 5_000, false)).toBe(2);
    expect(nextCut(pending([0, 1]), policy, 0, true)).toBe(2);
    expect(nextCut([], policy, 10_000, true)).toBe(0);
  });

  test("by bytes (one oversized entry still goes alone); a seq jump ends a segment", () => {
    expect(nextCut(pending([0, 1, 2], 0, 600), policy, 0, false)).toBe(1);
    expect(nextCut(pending([0], 0, 5000), policy, 0, false)).toBe(1);
    expect(nextCut(pending([4, 5, 9]), policy, 0, false)).toBe(2);
  });

  test("the lag is the age of the oldest pending entry", () => {
    expect(lagSeconds(pending([0, 1], 1_000), 4_000)).toBe(3);
    expect(lagSeconds([], 4_000)).toBe(0);
  });
});

describe("archive on a directory target: written, read back, index rebuilt", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "scone-audit-archive-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("segments read back once each (an overlap contributes only its new entries); a corrupted one is reported", async () => {
    const target = new LocalDirectoryTarget(join(dir, "t1"));
    const entries = await signedEntries(12);
    const write = (from: number, to: number) =>
      writeSegment(
        target,
        CAS,
        buildSegment({
          cas: CAS,
          log: entries[0]?.signature as string,
          entries: entries.slice(from, to + 1),
          verification: VERDICT,
          shippedAt: new Date(0),
          pod: POD,
        }),
      );
    await write(0, 4);
    await write(3, 7); // raced: 3 and 4 twice
    await write(8, 11);
    const lines: string[] = [];
    const read = await readArchive(target, CAS, ({ lines: l }) => {
      lines.push(...l);
    });
    expect(read.problems).toEqual([]);
    expect(lines).toEqual(entries.map((e) => e.raw));
    // The backup listing of the same target never takes the archive for a backup set.
    expect(await listTargetBackups(target)).toEqual([]);
    // Corrupt the last segment's bytes: refused with its range, never returned.
    const log = entries[0]?.signature as string;
    await writeFile(join(target.root, segmentKeys(CAS, log, { first: 8, last: 11 }).entries), "{}\n");
    const again: string[] = [];
    const bad = await readArchive(target, CAS, ({ lines: l }) => {
      again.push(...l);
    });
    expect(bad.problems).toMatchObject([{ first: 8, last: 11 }]);
    expect(again).toHaveLength(8);
    expect((await listArchive(target, CAS)).length).toBe(3);
  });

  test("the index, missing, is rebuilt from the archive: every entry once, searchable, links confirmed", async () => {
    const target = new LocalDirectoryTarget(join(dir, "t2"));
    const entries = await signedEntries(7);
    const log = entries[0]?.signature as string;
    for (const [from, to] of [
      [0, 3],
      [4, 6],
    ] as const)
      await writeSegment(
        target,
        CAS,
        buildSegment({
          cas: CAS,
          log,
          entries: entries.slice(from, to + 1),
          verification: VERDICT,
          shippedAt: new Date(0),
          pod: POD,
        }),
      );
    const store = openStore({ stateDir: join(dir, "state") });
    try {
      expect(indexMissing(store.db, CAS)).toBe(true);
      const r = await rebuildAuditIndex(store.db, target, CAS);
      expect(r).toMatchObject({ segments: 2, entries: 7, inserted: 7, problems: [] });
      expect(indexMissing(store.db, CAS)).toBe(false);
      const page = searchAuditIndex(store.db, { ...CAS, words: "app-5", limit: 10 });
      expect(page.entries.map((e) => e.seq)).toEqual([5]);
      const all = searchAuditIndex(store.db, { ...CAS, limit: 100 });
      expect(all.entries.every((e) => e.chainOk && e.log === log)).toBe(true);
      // Rebuilding again inserts nothing.
      expect((await rebuildAuditIndex(store.db, target, CAS)).inserted).toBe(0);
    } finally {
      store.close();
    }
  });
});
