// Appends signed, chained entries to cas_audit.log (README "Audit log schema", the simulator's own format: one JSON
// object per line, {seq, time, event, details, prev_signature, signature} in that order, signature =
// Ed25519(audit key, canonical JSON of the entry without its signature); seq counts up by one and prev_signature is
// the previous entry's signature, null on the first). Entries are written in the order they are logged through one
// promise chain. A restarted simulator continues the chain of the existing file (same audit key from the key store,
// next seq, prev = last signature).
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { canonicalJson } from "./codec.ts";
import { type SigningKey, signHex } from "./keys-ed25519.ts";

export interface AuditEntry {
  readonly seq: number;
  readonly time: string;
  readonly event: string;
  readonly details: Record<string, unknown>;
  readonly prev_signature: string | null;
  readonly signature: string;
}

/** One signed entry (what is signed excludes `signature` itself). */
export function auditEntry(fields: Omit<AuditEntry, "signature">, key: SigningKey): AuditEntry {
  const { seq, time, event, details, prev_signature } = fields;
  const signature = signHex(key, canonicalJson({ seq, time, event, details, prev_signature }));
  return { seq, time, event, details, prev_signature, signature };
}

/** Where an existing log's chain ends: its last line's seq and signature; a reason when that line is unreadable. */
export function chainEnd(text: string): { seq: number; signature: string } | undefined | string {
  const last = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .at(-1);
  if (last === undefined) return undefined;
  let entry: { seq?: unknown; signature?: unknown };
  try {
    entry = JSON.parse(last) as typeof entry;
  } catch {
    return "not JSON";
  }
  if (typeof entry !== "object" || entry === null) return "not a JSON object";
  if (typeof entry.seq !== "number" || !Number.isSafeInteger(entry.seq) || entry.seq < 0) return "seq: not an integer";
  if (typeof entry.signature !== "string" || !/^[0-9a-f]{128}$/.test(entry.signature)) {
    return "signature: expected 128 lower-case hex characters (an Ed25519 signature)";
  }
  return { seq: entry.seq, signature: entry.signature };
}

const CHECKPOINT_EVERY = 250;

/** Signatures of an existing log's lines by seq, up to `lastSeq` (a line that does not parse leaves "" in its place). */
function signaturesOf(text: string, lastSeq: number): string[] {
  const out: string[] = new Array(lastSeq + 1).fill("");
  for (const line of text.split("\n")) {
    try {
      const entry = JSON.parse(line) as { seq?: unknown; signature?: unknown };
      if (
        typeof entry.seq === "number" &&
        entry.seq >= 0 &&
        entry.seq <= lastSeq &&
        typeof entry.signature === "string"
      ) {
        out[entry.seq] = entry.signature;
      }
    } catch {
      // not an entry
    }
  }
  return out;
}

export class AuditLog {
  private seq: number;
  private prevSignature: string | null;
  private tail: Promise<void> = Promise.resolve();
  private disabled = false;
  private network: { url: string; ca: string | undefined } | undefined;
  /** Signature by seq (index), for audit-log verification against this CAS; gaps (an unreadable line) are "". */
  private signatures: string[] = [];
  readonly fresh: boolean;

  constructor(
    private readonly path: string | undefined,
    private readonly key: SigningKey,
    private readonly toStdout: boolean,
  ) {
    const text = path && existsSync(path) ? readFileSync(path, "utf8") : "";
    const entry = text === "" ? undefined : chainEnd(text);
    if (typeof entry === "string") throw new Error(`audit log ${path}: last line unreadable (${entry})`);
    if (entry) this.signatures = signaturesOf(text, entry.seq);
    this.seq = entry ? entry.seq + 1 : 0;
    this.prevSignature = entry ? entry.signature : null;
    this.fresh = entry === undefined;
  }

  get enabled(): boolean {
    return (this.path !== undefined || this.toStdout) && !this.disabled;
  }

  /** Queues an entry; resolves once it is on disk. */
  log(event: string, details: Record<string, unknown>): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    const write = async (): Promise<void> => {
      const entry = auditEntry(
        { seq: this.seq, time: new Date().toISOString(), event, details, prev_signature: this.prevSignature },
        this.key,
      );
      const line = `${JSON.stringify(entry)}\n`;
      if (this.path) appendFileSync(this.path, line, { mode: 0o600 });
      if (this.toStdout) process.stdout.write(line);
      if (this.network) this.post(this.network, line);
      this.signatures[this.seq] = entry.signature;
      this.seq += 1;
      this.prevSignature = entry.signature;
    };
    this.tail = this.tail.then(write);
    return this.tail;
  }

  /** Owner config `sink = "network"`: each entry is also POSTed to `url` (one entry per request body). */
  setNetworkSink(url: string | undefined, ca: string | undefined): void {
    this.network = url ? { url, ca } : undefined;
  }

  private post(sink: { url: string; ca: string | undefined }, line: string): void {
    // Fire and forget: a slow or absent collector must not stall the CAS; the file stays the complete record.
    fetch(sink.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: line,
      ...(sink.ca ? { tls: { ca: sink.ca } } : {}),
    }).catch((err: unknown) => {
      console.error(`audit log: POST to ${sink.url} failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  /** Owner config `audit_log.mode = "disabled"`: one last entry, then nothing. */
  async disable(details: Record<string, unknown>): Promise<void> {
    await this.log("audit_log_disabled", details);
    this.disabled = true;
  }

  /** Stays silent from now on (restart of a CAS whose owner config disabled the audit log). */
  off(): void {
    this.disabled = true;
  }

  /** The chain's end, null before the first entry. */
  last(): { seq: number; signature: string } | null {
    return this.prevSignature === null ? null : { seq: this.seq - 1, signature: this.prevSignature };
  }

  /** The signature of entry `seq`, null when this chain has no such entry. */
  at(seq: number): { seq: number; signature: string } | null {
    const signature = this.signatures[seq];
    return signature ? { seq, signature } : null;
  }

  /** Checkpoints (sconedocs auditLog): one per 250 entries, at most 100, within [min, max]. */
  checkpoints(min = 0, max = Number.MAX_SAFE_INTEGER): { sequence_number: number; signature: string }[] {
    const out: { sequence_number: number; signature: string }[] = [];
    for (
      let seq = Math.ceil(min / CHECKPOINT_EVERY) * CHECKPOINT_EVERY;
      seq <= max && out.length < 100;
      seq += CHECKPOINT_EVERY
    ) {
      const signature = this.signatures[seq];
      if (signature === undefined) break;
      if (signature !== "") out.push({ sequence_number: seq, signature });
    }
    return out;
  }

  flush(): Promise<void> {
    return this.tail;
  }
}
