// Ships one CAS pod's audit log to the archive: follows it from its first line, skips what the archive already
// holds (plan.ts coverage: the resume point comes from the archive's listing, not from local state), cuts segments
// (plan.ts nextCut), has the SCONE CLI verify each segment (`cas verify-audit-log`, its exit code the verdict;
// verify.ts) and writes the segment only then (archive.ts: entries, then manifest).
//
// What the CLI verifies. While the log read from seq 0 through the segment fits one verification (16 MiB,
// verify.ts), that whole text: the CLI sees a whole log (no "older entries missing") and the key it announces. Past
// that bound the text is a window: the archived entry just before the segment (the anchor, read again from the pod,
// or from the archive for a log read from its middle), then the segment's lines. The CLI's verdict on a window is
// 15 (older entries missing) when nothing worse is found [inferred: SCONE-CLI §5 lists the codes most severe first;
// that the CLI reports the most severe finding is not stated], so 15 counts as correct for a window only, and only
// when scone's own link check of the window (chain.ts windowLinkProblem: seq + 1, predecessor signature, signature
// of the log's key; [inferred] line schema) passes too: that check can refuse a window, never accept one the CLI
// refused. Each window holds the entry the previous segment ended with, so every link between segments is inside
// a text the CLI judged. Memory stays bounded too: the log from seq 0 is held only up to the bound.
//
// While the pod runs, the CLI checks against the CAS (`--cas`: its key, its chain at the last seq); a verdict other
// than correct is a failure and nothing is written — the log is still in the pod, so the next attempt reads it
// again. Once the pod is leaving or gone, the CAS no longer holds this log (a new pod starts a new one), so the rest
// is verified offline with the log's own key (`log-key`) and written with the verdict in its manifest, whatever it
// is: the pod's log is about to vanish, and an archived entry marked unverified is evidence, a dropped one is not.
// (Offline, a window has no key for the CLI — the log announces it at seq 0 — so a tail past the bound is archived
// as not verified, with a Warning.) The manifest says whether the CAS vouched for that key (keyVouched: an earlier
// segment of the same log, same seq-0 entry, was verified against the CAS).

import type { BackupTarget } from "../../backup/target.ts";
import type { CasDriverSource, CasRef } from "../../cas/driver/reach.ts";
import {
  listArchive,
  listArchiveAndEnds,
  readManifest,
  removeIncomplete,
  writeLogEnd,
  writeSegment,
} from "../../flows/audit/archive/archive.ts";
import { findContinuedLog } from "../../flows/audit/archive/continued.ts";
import { LOG_END_KIND, type UnendedLog, unendedLogs } from "../../flows/audit/archive/log-end.ts";
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
import { type AuditEntry, announcedKeyOf, entryOf, windowLinkProblem } from "../../flows/audit/chain.ts";
import { type AuditLogKube, toIndexEntry } from "../../flows/audit/flow.ts";
import {
  AuditLogTooLarge,
  describeVerdict,
  MAX_VERIFIED_LOG_BYTES,
  verifyAuditText,
} from "../../flows/audit/verify.ts";
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
  /**
   * An earlier log of this CAS whose pod went while no shipper followed it: entries after `through` are lost (its
   * end record, not complete, is written first, so each gap is reported once).
   */
  readonly onGap?: (gap: UnendedLog & { readonly message: string }) => void;
  /** The lag and resume point after each step (for metrics and status), with the oldest entry not yet archived. */
  readonly onProgress?: (p: {
    log: string | undefined;
    through: number;
    lagSeconds: number;
    oldest?: { seq: number; readAtMs: number };
  }) => void;
  /**
   * When an entry was first read by an earlier attempt (its caller keeps the oldest not yet archived), so the lag
   * of an entry read again after a failure counts from its first read, not from the retry.
   */
  readonly firstReadAt?: (log: string, seq: number) => number | undefined;
  /** How often the pod's state is looked at while following (default 1 s). */
  readonly podCheckMs?: number;
  /** After the pod started leaving: how long without a new line before its log counts as complete (default 2 s). */
  readonly settleMs?: number;
  /**
   * While the pod runs and everything read is archived: how long a follow may stay without a new line before it is
   * given up ("silent") and the caller reads the log again. A stream can stay open while delivering nothing (a
   * half-open connection; a follow opened before the container's log existed); a re-read skips what is archived.
   * Default: never.
   */
  readonly silentMs?: number;
  /** Up to this many bytes of the log from seq 0 are verified whole; past it, in windows (default: verify.ts's bound). */
  readonly wholeLogBytes?: number;
}

interface Pending extends PendingEntry {
  readonly entry: AuditEntry;
  /** Index of its line in `window` (a window's verification text ends there). */
  readonly line: number;
  /** Index of its line in `head` (the whole log's verification text ends there), while the head is held. */
  readonly headLine: number | undefined;
}

/** A JSON line of the log as read; seq and signature when it is an entry. */
interface ReadLine {
  readonly text: string;
  readonly seq?: number;
  readonly signature?: string;
}

const textOf = (lines: readonly (string | ReadLine)[]) =>
  `${lines.map((l) => (typeof l === "string" ? l : l.text)).join("\n")}\n`;

/**
 * Returns how the log ended: "gone" (its pod left, everything read is archived), "ended" (read it again) or "silent"
 * (nothing came for `silentMs` with everything archived: read it again, later each time while nothing new comes).
 */
export async function shipPodLog(
  cas: CasRef,
  pod: { namespace: string; name: string; uid: string },
  deps: ShipLogDeps,
  signal: AbortSignal,
): Promise<"gone" | "ended" | "silent" | "stopped"> {
  const podCheckMs = deps.podCheckMs ?? 1_000;
  const settleMs = deps.settleMs ?? 2_000;
  const wholeLogBytes = deps.wholeLogBytes ?? MAX_VERIFIED_LOG_BYTES;
  /** The log's JSON lines from its first, while they fit one verification; undefined past that (or read mid-log). */
  let head: string[] | undefined = [];
  let headBytes = 0;
  /** The lines from the anchor (the last shipped entry before the pending ones) through the last read. */
  let window: ReadLine[] = [];
  /** The audit key the log announced (scone's own link check of windows). */
  let key: string | undefined;
  let log: string | undefined;
  let coverage: ArchiveCoverage | undefined;
  let pending: Pending[] = [];
  let leaving = false;
  let lastLineAt = deps.now();
  let silent = false;

  const progress = () =>
    deps.onProgress?.({
      log,
      through: coverage?.through ?? -1,
      lagSeconds: lagSeconds(pending, deps.now()),
      ...(pending[0] ? { oldest: { seq: pending[0].seq, readAtMs: pending[0].readAtMs } } : {}),
    });

  // The log this read belongs to: its first entry's (seq 0), or — read from the middle after the kubelet rotated the
  // container log — the archived log holding that entry's predecessor.
  const place = async (entry: AuditEntry) => {
    if (entry.seq === 0 && entry.prev_signature === null) {
      log = entry.signature;
    } else {
      head = undefined;
      const continued = await findContinuedLog(deps.target, cas, entry);
      if (!continued) {
        throw new ShipFailure(
          "ShippingFailed",
          `the audit log of pod ${pod.namespace}/${pod.name} as read starts at seq ${entry.seq}, not at its first entry (the kubelet rotated the container log?), and the archive holds no entry ${entry.seq - 1} it continues: entries before seq ${entry.seq} not archived are no longer readable (lost), and what follows cannot be placed in a log`,
        );
      }
      log = continued.log;
      key = continued.key;
      window = [{ text: continued.anchor.raw, seq: continued.anchor.seq, signature: continued.anchor.signature }];
    }
    const { segments, ended } = await listArchiveAndEnds(deps.target, cas);
    coverage = coverageOf(segments, log);
    // Halves of an interrupted write: never counted, removed before their range is written again.
    if (coverage.incomplete.length > 0) await removeIncomplete(deps.target, cas, coverage.incomplete);
    for (const gap of unendedLogs(segments, ended, log)) await reportGap(gap);
  };

  const endRecord = (of: string, lastSeq: number, complete: boolean, note: string) =>
    writeLogEnd(deps.target, cas, {
      kind: LOG_END_KIND,
      version: 1,
      namespace: cas.namespace,
      name: cas.name,
      log: of,
      lastSeq,
      complete,
      at: new Date(deps.now()).toISOString(),
      note,
    });

  const reportGap = async (gap: UnendedLog) => {
    const message = `audit log ${gap.log.slice(0, 16)}… of CAS ${cas.namespace}/${cas.name} is archived through seq ${gap.through}; its pod went while no shipper followed it, so entries from seq ${gap.through + 1} to its end, if it had any, are lost`;
    await endRecord(gap.log, gap.through, false, message);
    deps.onGap?.({ ...gap, message });
  };

  const add = async (text: string) => {
    // Container noise (tail's notices on stderr, which `kubectl logs` interleaves) is not part of the log file.
    if (!text.startsWith("{")) return;
    const entry = entryOf(text);
    if (entry && log === undefined) await place(entry);
    if (head) {
      headBytes += Buffer.byteLength(text, "utf8") + 1;
      if (headBytes > wholeLogBytes) head = undefined;
      else head.push(text);
    }
    // JSON that is no entry: in the verified text (the CLI judges it), never in a segment.
    if (!entry) return void window.push({ text });
    key = announcedKeyOf(entry) ?? key;
    const line: ReadLine = { text, seq: entry.seq, signature: entry.signature };
    if (coverage && isShipped(coverage, entry.seq)) {
      // Shipped: the anchor of the next window (or, after pending ones a racing writer shipped, part of it).
      if (pending.length === 0) window = [line];
      else window.push(line);
      return;
    }
    window.push(line);
    pending.push({
      seq: entry.seq,
      time: entry.time,
      signature: entry.signature,
      raw: text,
      readAtMs: Math.min(
        deps.now(),
        (log !== undefined ? deps.firstReadAt?.(log, entry.seq) : undefined) ?? Number.POSITIVE_INFINITY,
      ),
      entry,
      line: window.length - 1,
      headLine: head ? head.length - 1 : undefined,
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

  const verify = async (
    text: string,
    against: SegmentVerification["against"],
    from: number,
    linkProblem: string | undefined,
  ): Promise<SegmentVerification & { linkProblem?: string }> => {
    try {
      const v = await verifyAuditText(deps.source, cas, text, signal, against);
      // A window's 15 is "older entries missing", which a window is by construction (header comment).
      const correct = linkProblem === undefined && (v.correct || (from > 0 && v.exitCode === 15));
      const byCas = against === "cas" && correct;
      if (byCas) vouched = true;
      return {
        exitCode: v.exitCode,
        meaning: v.meaning,
        correct,
        against,
        keyVouched: byCas || (against === "log-key" && (await keyVouched())),
        by: v.by,
        from,
        ...(linkProblem !== undefined ? { linkProblem } : {}),
      };
    } catch (err) {
      if (err instanceof AuditLogTooLarge) throw new ShipFailure("ShippingFailed", err.message);
      throw err;
    }
  };

  /** The text the CLI verifies for a batch (header comment): the whole log while held, else anchor + batch. */
  const verificationText = async (batch: readonly Pending[]) => {
    const first = batch[0] as Pending;
    const last = batch.at(-1) as Pending;
    if (head && last.headLine !== undefined)
      return { text: textOf(head.slice(0, last.headLine + 1)), from: 0, linkProblem: undefined };
    let a = first.line - 1;
    while (a >= 0 && window[a]?.seq === undefined) a--;
    const anchor = window[a];
    const lines = window.slice(Math.max(a, 0), last.line + 1);
    const from = lines.find((l) => l.seq !== undefined)?.seq ?? first.seq;
    if (from === 0) return { text: textOf(lines), from, linkProblem: undefined };
    const linkProblem =
      anchor?.seq !== undefined && anchor.signature !== undefined
        ? await windowLinkProblem(
            { seq: anchor.seq, signature: anchor.signature },
            lines.slice(1).map((l) => l.text),
            key,
          )
        : `no entry before seq ${first.seq} to link the window to`;
    return { text: textOf(lines), from, linkProblem };
  };

  const ship = async (count: number, final: boolean) => {
    const batch = pending.slice(0, count);
    const last = batch.at(-1);
    if (!last || log === undefined) return;
    const { text, from, linkProblem } = await verificationText(batch);
    const { linkProblem: problem, ...verification } = await verify(text, final ? "log-key" : "cas", from, linkProblem);
    if (!verification.correct && !final) {
      const state = await deps.podState();
      if (state !== "running") {
        // The CAS is going away (its chain with it): what is left is verified offline once the log ends.
        leaving = true;
        return;
      }
      throw new ShipFailure(
        "ChainRejected",
        `${describeVerdict({ ...verification, details: "" })}${problem ? `; scone's own link check: ${problem}` : ""}; seq ${batch[0]?.seq}..${last.seq} not archived`,
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
    // The segment's last entry anchors the next window; the lines before it are no longer needed.
    window = window.slice(last.line);
    pending = pending.slice(count).map((e) => ({ ...e, line: e.line - last.line }));
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
        progress(); // before shipping: a failure there still leaves the oldest entry read with the caller
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
      if (!leaving && pending.length === 0 && deps.silentMs !== undefined && deps.now() - lastLineAt >= deps.silentMs) {
        silent = true;
        break;
      }
    }
  } catch (err) {
    if (signal.aborted) return "stopped";
    throw err;
  } finally {
    await follow.close();
  }
  if (signal.aborted) return "stopped";
  if (silent) return "silent";
  if (!leaving && (await deps.podState()) === "running") {
    progress();
    return "ended";
  }
  // The log is gone from the pod: a failed write cannot be retried by reading it again, so it is retried here.
  for (let attempt = 1; ; attempt++) {
    try {
      await shipDue(true);
      // Everything read of the log is archived: its end is on record, so no later shipper takes it for a gap.
      if (log !== undefined && pending.length === 0)
        await endRecord(
          log,
          coverage?.through ?? -1,
          true,
          `archived through the end read of pod ${pod.name} (${pod.uid})`,
        );
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
