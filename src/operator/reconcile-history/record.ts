// The reconcile history the leader keeps in the cluster (issue 14), so every replica and a laptop read the same
// thing: one ConfigMap per reconciled resource, holding its last HISTORY_ENTRIES outcomes, newest first. Pure:
// entries in, entries out; the recorder (recorder.ts) does the I/O and read.ts the listing.
//
// Why a ConfigMap per resource: a status field or an annotation on the resource itself is a change of the resource,
// which its own controller watches; every recorded reconcile would cause another one. A ConfigMap the controllers
// do not watch (no managed-by label) cannot loop, lives beside the resource (its namespace; cluster-scoped kinds:
// the operator's namespace), is garbage-collected with it (ownerReference) and is readable with the same RBAC as
// the resource's namespace. Bounded: HISTORY_ENTRIES entries of bounded fields, and MAX_RECORD_BYTES in all (a
// ConfigMap may hold 1 MiB). No secrets: only outcome, timing, action names and error text, and the texts are
// scrubbed (scrubSecrets) before they are stored.
import { createHash } from "node:crypto";
import { dnsSubdomain } from "../../resources/grammar.ts";

export const HISTORY_ENTRIES = 20;
export const MAX_ERROR_CHARS = 500;
export const MAX_ACTIONS = 10;
export const MAX_ACTION_CHARS = 200;
export const MAX_RECORD_BYTES = 32 * 1024;
/** The ConfigMap key holding the record (JSON). */
export const HISTORY_KEY = "history.json";
export const HISTORY_COMPONENT = "reconcile-history";
/** Label of every history ConfigMap (the CLI lists by it); no managed-by label: the controllers must not watch it. */
export const HISTORY_LABELS = {
  "app.kubernetes.io/part-of": "scone",
  "app.kubernetes.io/component": HISTORY_COMPONENT,
} as const;
export const HISTORY_KIND_LABEL = "scone.cloud/history-kind";

export type HistoryResult = "success" | "requeue" | "error" | "terminal";
const RESULTS: readonly string[] = ["success", "requeue", "error", "terminal"];

export interface HistoryEntry {
  /** Start of the (first folded) reconcile, ms since the epoch. */
  readonly startedAt: number;
  readonly durationMs: number;
  readonly result: HistoryResult;
  readonly actions: readonly string[];
  readonly error?: string;
  readonly generation?: number;
  /** The operator replica (pod) that ran it. */
  readonly by?: string;
  /** Identical outcomes in a row folded into this entry (absent: 1), and when the last of them started. */
  readonly repeats?: number;
  readonly lastAt?: number;
}

export interface HistoryRecord {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** Newest first, at most HISTORY_ENTRIES. */
  readonly entries: readonly HistoryEntry[];
}

const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/**
 * Removes what looks like a credential from text bound for the cluster: PEM blocks, bearer tokens, user:password@
 * in URLs, key=value / key: value pairs whose key names a secret, and long base64/hex runs (keys, tokens).
 */
export function scrubSecrets(text: string): string {
  return text
    .replace(/-----BEGIN [A-Z ]+-----[\s\S]*?(-----END [A-Z ]+-----|$)/g, "[redacted PEM]")
    .replace(/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi, "$1 [redacted]")
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, "$1[redacted]@")
    .replace(
      /\b([A-Za-z_-]{0,40}(?:token|password|passwd|secret|api[-_]?key|access[-_]?key|private[-_]?key|credential)s?)(["']?\s*[=:]\s*["']?)[^\s"',;}]+/gi,
      "$1$2[redacted]",
    )
    .replace(/[A-Za-z0-9+/_-]{40,}={0,2}/g, "[redacted]");
}

export interface ReconcileOutcome {
  readonly startedAt: number;
  readonly durationMs: number;
  readonly outcome: HistoryResult;
  readonly actions: readonly string[];
  readonly error?: string;
  readonly generation?: number;
}

/** The entry stored for one reconcile: bounded, scrubbed fields. */
export function entryOf(r: ReconcileOutcome, by?: string): HistoryEntry {
  // Scrubbed with context beyond what is kept (a secret cut at the end still matches), but not unbounded text.
  const bounded = (t: string, max: number) => clip(scrubSecrets(t.slice(0, max * 4)), max);
  const actions = r.actions.slice(0, MAX_ACTIONS).map((a) => bounded(a, MAX_ACTION_CHARS));
  if (r.actions.length > MAX_ACTIONS) actions.push(`… ${r.actions.length - MAX_ACTIONS} more`);
  return {
    startedAt: r.startedAt,
    durationMs: Math.max(0, Math.round(r.durationMs)),
    result: r.outcome,
    actions,
    ...(r.error ? { error: bounded(r.error, MAX_ERROR_CHARS) } : {}),
    ...(r.generation === undefined ? {} : { generation: r.generation }),
    ...(by ? { by: clip(by, 253) } : {}),
  };
}

const sameOutcome = (a: HistoryEntry, b: HistoryEntry) =>
  a.result === b.result &&
  a.error === b.error &&
  a.generation === b.generation &&
  a.actions.length === b.actions.length &&
  a.actions.every((x, i) => x === b.actions[i]);

/** A reconcile that changed nothing and found nothing wrong: not worth a write of its own. */
export const isQuiet = (e: HistoryEntry): boolean =>
  (e.result === "success" || e.result === "requeue") && e.actions.length === 0 && e.error === undefined;

/**
 * The entries after `entry`: folded into the newest when the outcome is the same (repeats, lastAt), else put in
 * front; at most HISTORY_ENTRIES, and at most MAX_RECORD_BYTES once encoded (oldest dropped first).
 * `folded` says whether it was folded (a quiet fold need not be written at once).
 */
export function appendEntry(
  record: HistoryRecord,
  entry: HistoryEntry,
  limit = HISTORY_ENTRIES,
): { record: HistoryRecord; folded: boolean } {
  const [newest, ...older] = record.entries;
  const folded = newest !== undefined && sameOutcome(newest, entry);
  const head: HistoryEntry = folded
    ? { ...newest, repeats: (newest.repeats ?? 1) + 1, lastAt: entry.startedAt, durationMs: entry.durationMs }
    : entry;
  let entries = [head, ...(folded ? older : record.entries)].slice(0, limit);
  const sized = (es: readonly HistoryEntry[]) => Buffer.byteLength(encodeRecord({ ...record, entries: es }));
  while (entries.length > 1 && sized(entries) > MAX_RECORD_BYTES) entries = entries.slice(0, -1);
  return { record: { ...record, entries }, folded };
}

export function encodeRecord(record: HistoryRecord): string {
  return JSON.stringify(record);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const text = (v: unknown, max: number) => (typeof v === "string" ? clip(v, max) : undefined);

/** An entry read from the cluster (anyone with write access to the ConfigMap may have written it): checked. */
function decodeEntry(v: unknown): HistoryEntry | undefined {
  if (!isObject(v)) return undefined;
  const startedAt = num(v.startedAt);
  const result = typeof v.result === "string" && RESULTS.includes(v.result) ? (v.result as HistoryResult) : undefined;
  if (startedAt === undefined || result === undefined) return undefined;
  const actions = Array.isArray(v.actions)
    ? v.actions
        .filter((a): a is string => typeof a === "string")
        .slice(0, MAX_ACTIONS + 1)
        .map((a) => clip(a, MAX_ACTION_CHARS))
    : [];
  const error = text(v.error, MAX_ERROR_CHARS);
  const generation = num(v.generation);
  const by = text(v.by, 253);
  const repeats = num(v.repeats);
  const lastAt = num(v.lastAt);
  return {
    startedAt,
    durationMs: num(v.durationMs) ?? 0,
    result,
    actions,
    ...(error === undefined ? {} : { error }),
    ...(generation === undefined ? {} : { generation }),
    ...(by === undefined ? {} : { by }),
    ...(repeats === undefined ? {} : { repeats }),
    ...(lastAt === undefined ? {} : { lastAt }),
  };
}

/** The record in a ConfigMap's data; undefined when it is not one (malformed entries are left out). */
export function decodeRecord(json: string | undefined): HistoryRecord | undefined {
  if (json === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!isObject(v) || typeof v.kind !== "string" || typeof v.name !== "string") return undefined;
  const entries = Array.isArray(v.entries) ? v.entries.map(decodeEntry).filter((e) => e !== undefined) : [];
  return {
    kind: v.kind,
    namespace: typeof v.namespace === "string" ? v.namespace : "",
    name: v.name,
    entries: entries.slice(0, HISTORY_ENTRIES),
  };
}

/**
 * The ConfigMap's name: scone-history-<kind>-<name>, or scone-history-<kind>-<digest> when that would not be a
 * valid name (too long overall or in its first label). The kind keeps a CAS and a Vault of the same name apart.
 */
export function historyConfigMapName(kind: string, name: string): string {
  const plain = `scone-history-${kind.toLowerCase()}-${name}`;
  if (dnsSubdomain(plain) === undefined) return plain;
  const digest = createHash("sha256").update(`${kind}/${name}`).digest("hex").slice(0, 32);
  return `scone-history-${kind.toLowerCase()}-${digest}`;
}
