// The contents of a `scone cas report` bundle, assembled from what the collector read (pure): which objects belong
// to the CAS, the file layout, the bounds on logs, the redaction of every object and the scrubbing of every file.
// The table of contents (`-o json`) lists each file with its size and what it holds.
import type { CoreV1Event } from "@kubernetes/client-node";
import { stringify } from "yaml";
import type { KubeObject } from "../../kube/types.ts";
import { redactObject, scrubText } from "./redact.ts";

/** The most bytes of one container log put in a bundle (the newest part is kept). */
export const LOG_LIMIT_BYTES = 1024 * 1024;
/**
 * What is read of one log to find its newest LOG_LIMIT_BYTES: the API server cuts at limitBytes from the start of
 * the window tailLines selects, so the window is the last LOG_TAIL_LINES lines, read up to 4× the limit.
 */
export const LOG_FETCH_BYTES = 4 * LOG_LIMIT_BYTES;
export const LOG_TAIL_LINES = 10_000;
/** The most Events put in a bundle (the newest). */
export const EVENT_LIMIT = 1000;

export interface LogCapture {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  /** The log of the container's previous run (it restarted). */
  readonly previous: boolean;
  readonly text?: string;
  /** Why there is no log (e.g. the node serves none). */
  readonly error?: string;
}

export interface ReportInput {
  readonly namespace: string;
  readonly name: string;
  readonly createdAt: string;
  readonly cas: KubeObject;
  /** Objects of the namespace that may belong to the CAS (selected here by owner references and names). */
  readonly candidates: readonly KubeObject[];
  /** Names of objects that belong to the CAS without an owner reference (the StatefulSet's PVCs). */
  readonly ownedByName: readonly { kind: string; name: string }[];
  readonly operatorPods: readonly KubeObject[];
  readonly events: readonly CoreV1Event[];
  readonly logs: readonly LogCapture[];
  readonly versions: unknown;
  readonly status: string;
  readonly history: unknown;
  /** Values of the Secrets the collector could read: scrubbed from every file. Never written. */
  readonly secretValues: readonly string[];
  readonly notes: readonly string[];
}

export interface BundleFile {
  readonly path: string;
  readonly content: string;
}

export interface TocEntry {
  readonly path: string;
  readonly bytes: number;
  readonly what: string;
}

export interface TableOfContents {
  readonly cas: string;
  readonly createdAt: string;
  readonly files: readonly TocEntry[];
  readonly notes: readonly string[];
}

/** The CAS and everything whose owner chain leads to it, plus the objects named in `byName`. */
export function selectOwned(
  root: KubeObject,
  candidates: readonly KubeObject[],
  byName: readonly { kind: string; name: string }[],
): KubeObject[] {
  const owned = new Set<string>([root.metadata?.uid ?? ""]);
  const picked: KubeObject[] = [];
  const rest = [...candidates];
  // Owners come before what they own in no particular order: repeat until no more join (depth is small).
  for (let grew = true; grew; ) {
    grew = false;
    for (let i = rest.length - 1; i >= 0; i--) {
      const o = rest[i] as KubeObject;
      if ((o.metadata?.ownerReferences ?? []).some((r) => owned.has(r.uid))) {
        owned.add(o.metadata?.uid ?? "");
        picked.push(o);
        rest.splice(i, 1);
        grew = true;
      }
    }
  }
  for (const o of rest) {
    if (byName.some((b) => b.kind === o.kind && b.name === o.metadata?.name)) picked.push(o);
  }
  return picked;
}

/** The last `limit` bytes of `text`, cut at a line start, with a marker saying what was left out. */
export function tailBytes(text: string, limit: number): { text: string; truncated: boolean } {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= limit) return { text, truncated: false };
  let tail = new TextDecoder().decode(bytes.subarray(bytes.length - limit));
  const nl = tail.indexOf("\n");
  if (nl !== -1 && nl < tail.length - 1) tail = tail.slice(nl + 1);
  return { text: `[… ${bytes.length - limit}+ earlier bytes left out]\n${tail}`, truncated: true };
}

const yaml = (value: unknown): string => stringify(value, { lineWidth: 0 });
const eventTime = (e: CoreV1Event): string =>
  String(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? "");
/** A path segment from a name read from the cluster: never a separator, never "." or ".." (no escape on untar). */
export const safeSegment = (s: string): string => {
  const cleaned = s.replace(/[^A-Za-z0-9._-]/g, "_");
  return /^\.*$/.test(cleaned) ? cleaned.replace(/\./g, "_") || "_" : cleaned;
};

/** The files of the bundle (paths relative to its top directory) and its table of contents. */
export function assembleBundle(input: ReportInput): { files: BundleFile[]; toc: TableOfContents } {
  const raw: { path: string; content: string; what: string }[] = [];
  const add = (path: string, content: string, what: string) => raw.push({ path, content, what });

  const owned = selectOwned(input.cas, input.candidates, input.ownedByName);
  add("versions.yaml", yaml(input.versions), "client, Kubernetes, operator and CRD versions; skew warnings");
  add("status.txt", input.status, "scone cas status");
  add(`objects/CAS/${safeSegment(input.name)}.yaml`, yaml(redactObject(input.cas)), "the CAS resource (redacted)");
  for (const o of [...owned, ...input.operatorPods]) {
    const kind = safeSegment(o.kind ?? "Object");
    const name = safeSegment(o.metadata?.name ?? "unnamed");
    const ns = o.metadata?.namespace === input.namespace ? "" : `${safeSegment(o.metadata?.namespace ?? "")}.`;
    add(
      `objects/${kind}/${ns}${name}.yaml`,
      yaml(redactObject(o)),
      `${o.kind} ${o.metadata?.namespace}/${o.metadata?.name}`,
    );
  }
  // By uid, or by kind and name (the list is the namespace's): an Event may name its object without a uid.
  const ours = [input.cas, ...owned];
  const uids = new Set(ours.map((o) => o.metadata?.uid).filter(Boolean));
  const kindNames = new Set(ours.map((o) => `${o.kind}/${o.metadata?.name}`));
  const events = input.events
    .filter((e) => uids.has(e.involvedObject.uid) || kindNames.has(`${e.involvedObject.kind}/${e.involvedObject.name}`))
    .sort((a, b) => eventTime(a).localeCompare(eventTime(b)))
    .slice(-EVENT_LIMIT)
    .map((e) => ({
      time: eventTime(e),
      type: e.type,
      reason: e.reason,
      object: `${e.involvedObject.kind}/${e.involvedObject.name}`,
      count: e.count,
      source: e.source?.component ?? e.reportingComponent,
      message: e.message,
    }));
  add("events.yaml", yaml(events), `${events.length} Events of the CAS and its objects, oldest first`);
  for (const log of input.logs) {
    const base = `logs/${safeSegment(log.namespace)}/${safeSegment(log.pod)}/${safeSegment(log.container)}${log.previous ? ".previous" : ""}`;
    if (log.text === undefined) {
      add(`${base}.error.txt`, `${log.error ?? "no log"}\n`, `why the ${log.container} log is missing`);
      continue;
    }
    const bounded = tailBytes(log.text, LOG_LIMIT_BYTES);
    const what = `${log.previous ? "previous run of " : ""}container ${log.container} of ${log.pod}${bounded.truncated ? " (truncated)" : ""}`;
    add(`${base}.log`, bounded.text, what);
  }
  add(
    "history.yaml",
    yaml(input.history ?? []),
    "the operator's reconciles of this CAS (from the state store, if any)",
  );

  const files = raw.map((f) => ({ path: f.path, content: scrubText(f.content, input.secretValues), what: f.what }));
  const notes = input.notes.map((n) => scrubText(n, input.secretValues));
  const toc: TableOfContents = {
    cas: `${input.namespace}/${input.name}`,
    createdAt: input.createdAt,
    files: files.map((f) => ({ path: f.path, bytes: new TextEncoder().encode(f.content).length, what: f.what })),
    notes,
  };
  const tocFile = { path: "toc.yaml", content: yaml(toc) };
  return { files: [tocFile, ...files.map(({ path, content }) => ({ path, content }))], toc };
}
