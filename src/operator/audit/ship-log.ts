// Ships one CAS pod's audit log to the archive: follows it from its first line, skips what the archive already
// holds (plan.ts coverage: the resume point comes from the archive's listing, not from local state), cuts segments
// (plan.ts nextCut), has the SCONE CLI verify the log through each segment's last entry (`cas verify-audit-log`, its
// exit code the verdict; verify.ts) and writes the segment only then (archive.ts: entries, then manifest).
//
// Verification text = the log from its seq-0 entry through the segment, so the CLI sees a whole log (no "older
// entries missing") and the key the log announces. While the pod runs, the CLI checks it against the CAS (`--cas`:
// its key, its chain at the last seq); a verdict other than correct is a failure and nothing is written — the log
// is still in the pod, so the next attempt reads it again. Once the pod is leaving or gone, the CAS no longer holds
// this log (a new pod starts a new one), so the rest is verified offline with the log's own key (`log-key`) and
// written with the verdict in its manifest, whatever it is: the pod's log is about to vanish, and an archived
// entry marked unverified is evidence, a dropped one is not. The manifest says whether the CAS vouched for that key
// (keyVouched: an earlier segment of the same log, same seq-0 entry, was verified against the CAS).

import type { BackupTarget } from "../../backup/target.ts";
import type { CasDriverSource, CasRef } from "../../cas/driver/reach.ts";
import { listArchive, readManifest, removeIncomplete, writeSegment } from "../../flows/audit/archive/archive.ts";
import {
  type ArchiveCoverage,
  coverageOf,
  isShipped,
  lagSeconds,
  nextCut,
  type PendingEntry,
  type SegmentPolicy,
  withShipped,
} from "../../flows/audit/archive/plan.ts";
import { buildSegment, type SegmentManifest, type SegmentVerification } from "../../flows/audit/archive/segment.ts";
import { type AuditEntry, entryOf } from "../../flows/audit/chain.ts";
import { type AuditLogKube, toIndexEntry } from "../../flows/audit/flow.ts";
import { AuditLogTooLarge, describeVerdict, verifyAuditText } from "../../flows/audit/verify.ts";
import { indexAuditText, ingestEntries } from "../../store/audit.ts";
import type { StoreDb } from "../../store/open.ts";
import { followAuditLog, TIMED_OUT } from "./follower.ts";

/** The condition reasons of a failure (CAS condition AuditShipped=False). */
export type ShipFailureReason = "ShippingFailed" | "ChainRejected";

export class ShipFailure extends Error {
  override readonly name = "ShipFailure";
  constructor(
    readonly reason: ShipFailureReason,
    message: string,
  ) {
    super(message);
  }
}

export type PodState = "running" | "leaving" | "gone";

export interface ShipLogDeps {
  readonly kube: AuditLogKube;
  readonly target: BackupTarget;
  readonly source: CasDriverSource;
  readonly policy: SegmentPolicy;
  readonly now: () => number;
  /** Whether the followed pod instance (uid) still runs, is being deleted or replaced, or is gone. */
  readonly podState: () => Promise<PodState>;
  /** The operator's index: shipped entries are indexed as they are written. */
  readonly store?: { readonly db: StoreDb };
  readonly onShipped?: (manifest: SegmentManifest) => void;
  /** The lag and resume point after each step (for metrics and status). */
  readonly onProgress?: (p: { log: string | undefined; through: number; lagSeconds: number }) => void;
  /** How often the pod's state is looked at while following (default 1 s). */
  readonly podCheckMs?: number;
  /** After the pod started leaving: how long without a new line before its log counts as complete (default 2 s). */
  readonly settleMs?: number;
}

interface Pending extends PendingEntry {
  readonly entry: AuditEntry;
  /** Index of its line in `lines` (the verification text ends there). */
  readonly line: number;
}

/** Returns how the log ended: "gone" (its pod left, everything read is archived) or "ended" (read it again). */
export async function shipPodLog(
  cas: CasRef,
  pod: { namespace: string; name: string; uid: string },
  deps: ShipLogDeps,
  signal: AbortSignal,
): Promise<"gone" | "ended" | "stopped"> {
  const podCheckMs = deps.podCheckMs ?? 1_000;
  const settleMs = deps.settleMs ?? 2_000;
  const lines: string[] = [];
  let log: string | undefined;
  let coverage: ArchiveCoverage | undefined;
  let pending: Pending[] = [];
  let leaving = false;
  let lastLineAt = deps.now();

  const progress = () =>
    deps.onProgress?.({ log, through: coverage?.through ?? -1, lagSeconds: lagSeconds(pending, deps.now()) });

  const add = async (text: string) => {
    // Container noise (tail's notices on stderr, which `kubectl logs` interleaves) is not part of the log file.
    if (!text.startsWith("{")) return;
    lines.push(text);
    const entry = entryOf(text);
    if (!entry) return; // JSON that is no entry: in the verified text (the CLI judges it), never in a segment
    if (log === undefined) {
      if (entry.seq !== 0 || entry.prev_signature !== null) {
        throw new ShipFailure(
          "ShippingFailed",
          `the audit log of pod ${pod.namespace}/${pod.name} as read starts at seq ${entry.seq}, not at its first entry (was the container log rotated?): it cannot be placed in the archive`,
        );
      }
      log = entry.signature;
      const listed = await listArchive(deps.target, cas);
      coverage = coverageOf(listed, log);
      // Halves of an interrupted write: never counted, removed before their range is written again.
      if (coverage.incomplete.length > 0) await removeIncomplete(deps.target, cas, coverage.incomplete);
    }
    if (coverage && isShipped(coverage, entry.seq)) return;
    pending.push({
      seq: entry.seq,
      time: entry.time,
      signature: entry.signature,
      raw: text,
      readAtMs: deps.now(),
      entry,
      line: lines.length - 1,
    });
  };

  // Whether the CAS vouched for this log's key: a segment of it verified against the CAS, in this session or (read
  // once, from the seq-0 segment's manifest) before it. Asked only for an offline verdict.
  let vouched: boolean | undefined;
  const keyVouched = async (): Promise<boolean> => {
    if (vouched !== undefined || log === undefined) return vouched ?? false;
    const first = (await listArchive(deps.target, cas)).find(
      (s) => s.log === log && s.first === 0 && s.hasEntries && s.hasManifest,
    );
    const manifest = first ? await readManifest(deps.target, cas, first) : undefined;
    vouched = typeof manifest === "object" && manifest.verification.correct && manifest.verification.keyVouched;
    return vouched;
  };

  const verify = async (text: string, against: SegmentVerification["against"]): Promise<SegmentVerification> => {
    try {
      const v = await verifyAuditText(deps.source, cas, text, signal, against);
      const byCas = against === "cas" && v.correct;
      if (byCas) vouched = true;
      return {
        exitCode: v.exitCode,
        meaning: v.meaning,
        correct: v.correct,
        against,
        keyVouched: byCas || (against === "log-key" && (await keyVouched())),
        by: v.by,
      };
    } catch (err) {
      if (err instanceof AuditLogTooLarge) throw new ShipFailure("ShippingFailed", err.message);
      throw err;
    }
  };

  const ship = async (count: number, final: boolean) => {
    const batch = pending.slice(0, count);
    const last = batch.at(-1);
    if (!last || log === undefined) return;
    const text = `${lines.slice(0, last.line + 1).join("\n")}\n`;
    const verification = await verify(text, final ? "log-key" : "cas");
    if (!verification.correct && !final) {
      const state = await deps.podState();
      if (state !== "running") {
        // The CAS is going away (its chain with it): what is left is verified offline once the log ends.
        leaving = true;
        return;
      }
      throw new ShipFailure(
        "ChainRejected",
        `${describeVerdict({ ...verification, details: "" })}; seq ${batch[0]?.seq}..${last.seq} not archived`,
      );
    }
    // Another writer (a leader change racing) may have shipped some meanwhile: look again, write only the rest.
    coverage = coverageOf(await listArchive(deps.target, cas), log);
    const fresh = batch.filter((e) => !isShipped(coverage as ArchiveCoverage, e.seq));
    if (fresh.length !== batch.length) {
      pending = pending.filter((e) => !isShipped(coverage as ArchiveCoverage, e.seq));
      return;
    }
    const segment = buildSegment({
      cas,
      log,
      entries: batch,
      verification,
      shippedAt: new Date(deps.now()),
      pod: { name: pod.name, uid: pod.uid },
    });
    await writeSegment(deps.target, cas, segment);
    coverage = withShipped(coverage, { first: segment.manifest.firstSeq, last: segment.manifest.lastSeq });
    pending = pending.slice(count);
    if (deps.store) {
      const db = deps.store.db;
      ingestEntries(
        db,
        batch.map((e) =>
          toIndexEntry(cas, log as string, { kind: "entry", entry: e.entry, raw: e.raw, ok: verification.correct }),
        ),
      );
      indexAuditText(db);
    }
    deps.onShipped?.(segment.manifest);
  };

  const shipDue = async (final: boolean) => {
    for (;;) {
      const count = nextCut(pending, deps.policy, deps.now(), final);
      if (count === 0) return;
      const before = pending.length;
      await ship(count, final || leaving);
      if (pending.length === before) return; // not written (the pod is leaving): wait for the end of its log
    }
  };

  const follow = await followAuditLog(deps.kube, pod, signal);
  let nextPodCheck = deps.now() + podCheckMs;
  try {
    for (;;) {
      const now = deps.now();
      const ageWait = pending[0] ? pending[0].readAtMs + deps.policy.maxAgeMs - now : podCheckMs;
      const batch = await follow.next(Math.max(10, Math.min(ageWait, nextPodCheck - now)));
      if (batch === null) break;
      if (batch !== TIMED_OUT) {
        for (const raw of batch) {
          const text = raw.trim();
          if (text !== "") await add(text);
        }
        lastLineAt = deps.now();
      }
      if (deps.now() >= nextPodCheck) {
        nextPodCheck = deps.now() + podCheckMs;
        if ((await deps.podState()) !== "running") leaving = true;
      }
      // A leaving pod's log is complete once it has been quiet for a moment (its last entries, e.g. cas_exited,
      // come after the deletion started); some log endpoints keep the stream open after the container stopped.
      if (leaving && deps.now() - lastLineAt >= settleMs) break;
      if (!leaving) await shipDue(false);
      progress();
    }
  } catch (err) {
    if (signal.aborted) return "stopped";
    throw err;
  } finally {
    await follow.close();
  }
  if (signal.aborted) return "stopped";
  if (!leaving && (await deps.podState()) === "running") {
    progress();
    return "ended";
  }
  // The log is gone from the pod: a failed write cannot be retried by reading it again, so it is retried here.
  for (let attempt = 1; ; attempt++) {
    try {
      await shipDue(true);
      break;
    } catch (err) {
      if (signal.aborted || attempt >= FINAL_ATTEMPTS) throw err;
      await Bun.sleep(FINAL_RETRY_MS * attempt);
    }
  }
  progress();
  return "gone";
}

/** Attempts to archive the tail of a log whose pod is gone (the last copy is in memory). */
const FINAL_ATTEMPTS = 5;
const FINAL_RETRY_MS = 2_000;
