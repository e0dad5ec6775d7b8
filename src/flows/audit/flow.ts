// `scone cas audit NAME -n NS [-f]`: reads the audit log the way `kubectl logs NAME-0 -c audit [-f]` does (upstream
// `kubectl audit`, §10.6) and indexes the entries in the state store (idempotent by log and seq: reading the same log
// twice inserts nothing new; a new pod's log is a log of its own, log-identity.ts). `--search` queries that index.
// The verdict on the log is the SCONE CLI's (verify.ts); chain.ts's link check here only annotates the index
// (chainOk, `breaks`) and claims no verdict (table.ts audit-chain-local).
import type { KubeClient } from "../../kube/client.ts";
import {
  type AuditEntryInput,
  type AuditPage,
  auditHead,
  indexAuditText,
  indexedAt,
  ingestEntries,
  searchAudit,
} from "../../store/audit.ts";
import type { StoreDb } from "../../store/open.ts";
import { type CasId, podName } from "../status/observe.ts";
import { AuditChain, type ChainLookups, type CheckedLine } from "./chain.ts";
import { AuditLogIdentity } from "./log-identity.ts";

export const AUDIT_CONTAINER = "audit";
const BATCH = 200;

export type AuditLogKube = Pick<KubeClient, "podLogs" | "followPodLogs">;

export interface AuditBreak {
  readonly seq?: number;
  /** 1-based line of the log as read in this run. */
  readonly line: number;
  readonly problem: string;
}

export interface AuditReadResult {
  readonly entries: number;
  readonly inserted: number;
  readonly skipped: number;
  readonly firstSeq?: number;
  readonly lastSeq?: number;
  /** Where the index's own link check (chain.ts) failed (chainOk=false): a hint for search, not a verdict. */
  readonly breaks: readonly AuditBreak[];
}

export interface AuditReadOptions extends CasId {
  readonly follow: boolean;
  readonly store: { db: StoreDb };
  readonly signal?: AbortSignal;
  /** Each log line as read (entries and other lines), for printing. */
  readonly onLine?: (line: CheckedLine) => void;
}

/** Read-only lookups in the index for a log that continues an indexed one. */
export function indexLookups(db: StoreDb, cas: CasId): ChainLookups {
  return {
    signatureOf(seq, expected) {
      const rows = indexedAt(db, cas, seq);
      return (rows.find((r) => r.signature === expected) ?? rows[0])?.signature;
    },
    auditKey() {
      const page = searchAudit(db, { ...cas, event: "audit_log_enabled", limit: 1 });
      const raw = page.entries[0]?.raw;
      if (!raw) return undefined;
      try {
        const key = (JSON.parse(raw) as { details?: { audit_public_key?: unknown } }).details?.audit_public_key;
        return typeof key === "string" ? key : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

const text = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);

export function toIndexEntry(cas: CasId, log: string, line: Extract<CheckedLine, { kind: "entry" }>): AuditEntryInput {
  const { entry } = line;
  const ts = Date.parse(entry.time);
  return {
    namespace: cas.namespace,
    name: cas.name,
    log,
    seq: entry.seq,
    ts: Number.isFinite(ts) ? ts : 0,
    event: entry.event,
    session: text(entry.details.session),
    service: text(entry.details.service),
    raw: line.raw,
    signature: entry.signature,
    prevSignature: entry.prev_signature ?? "",
    chainOk: line.ok,
  };
}

/**
 * Splits a byte stream into lines (the last, unterminated part is kept for the next chunk). Only the new chunk is
 * searched for a newline, so a long line arriving in many chunks costs linear time, not quadratic.
 */
export async function* streamLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string[]> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true });
    const newline = text.lastIndexOf("\n");
    if (newline < 0) {
      rest += text;
      continue;
    }
    const parts = (rest + text.slice(0, newline)).split("\n");
    rest = text.slice(newline + 1);
    yield parts;
  }
  rest += decoder.decode();
  if (rest.trim() !== "") yield [rest];
}

export async function readAuditLog(kube: AuditLogKube, options: AuditReadOptions): Promise<AuditReadResult> {
  const cas = { namespace: options.namespace, name: options.name };
  const pod = { namespace: options.namespace, name: podName(options) };
  const lookups = indexLookups(options.store.db, cas);
  const chain = new AuditChain(lookups);
  const logs = new AuditLogIdentity({ indexedAt: (seq) => indexedAt(options.store.db, cas, seq) });
  const breaks: AuditBreak[] = [];
  let pending: AuditEntryInput[] = [];
  let entries = 0;
  let inserted = 0;
  let skipped = 0;
  let firstSeq: number | undefined;
  let lastSeq: number | undefined;
  let lineNo = 0;

  const flush = () => {
    if (pending.length === 0) return;
    const r = ingestEntries(options.store.db, pending);
    inserted += r.inserted;
    skipped += r.skipped;
    pending = [];
  };
  const consume = async (lines: readonly string[]) => {
    for (const rawLine of lines) {
      lineNo++;
      if (rawLine.trim() === "") continue;
      const checked = await chain.check(rawLine);
      options.onLine?.(checked);
      if (checked.kind === "malformed") breaks.push({ line: lineNo, problem: checked.problem });
      if (checked.kind !== "entry") continue;
      entries++;
      firstSeq ??= checked.entry.seq;
      lastSeq = checked.entry.seq;
      if (!checked.ok) breaks.push({ seq: checked.entry.seq, line: lineNo, problem: checked.problem ?? "broken" });
      pending.push(toIndexEntry(cas, logs.logOf(checked.entry), checked));
      if (pending.length >= BATCH) flush();
    }
    flush();
  };

  const logOptions = { container: AUDIT_CONTAINER, ...(options.signal ? { signal: options.signal } : {}) };
  if (!options.follow) {
    await consume((await kube.podLogs(pod, logOptions)).split("\n"));
  } else {
    try {
      for await (const lines of streamLines(await kube.followPodLogs(pod, logOptions))) await consume(lines);
    } catch (err) {
      if (!options.signal?.aborted) throw err;
    }
  }
  flush();
  // The pull's entries join the full-text index now, in bulk, rather than in the user's next search.
  indexAuditText(options.store.db);
  return {
    entries,
    inserted,
    skipped,
    ...(firstSeq !== undefined ? { firstSeq } : {}),
    ...(lastSeq !== undefined ? { lastSeq } : {}),
    breaks,
  };
}

export interface AuditQuery extends CasId {
  readonly words?: string;
  readonly event?: string;
  readonly from?: number;
  readonly to?: number;
  readonly limit: number;
  readonly cursor?: string;
}

export function searchAuditIndex(db: StoreDb, q: AuditQuery): AuditPage & { head: ReturnType<typeof auditHead> } {
  const page = searchAudit(db, {
    namespace: q.namespace,
    name: q.name,
    limit: q.limit,
    ...(q.words !== undefined ? { query: q.words } : {}),
    ...(q.event !== undefined ? { event: q.event } : {}),
    ...(q.from !== undefined ? { from: q.from } : {}),
    ...(q.to !== undefined ? { to: q.to } : {}),
    ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
  });
  return { ...page, head: auditHead(db, q) };
}
