// Appends signed, chained entries to cas_audit.log (schema and verifier: src/cas/audit.ts). Entries are written in
// the order they are logged: signing is async, so writes go through one promise chain. A restarted simulator
// continues the chain of the existing file (same audit key from the key store, next seq, prev = last signature).
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { type AuditEntry, auditLines, parseAuditLine, signAuditEntry } from "../../src/cas/audit.ts";
import type { Ed25519KeyPair } from "../../src/cas/crypto.ts";

export class AuditLog {
  private seq: number;
  private prevSignature: string | null;
  private tail: Promise<void> = Promise.resolve();
  private disabled = false;
  private network: { url: string; ca: string | undefined } | undefined;
  readonly fresh: boolean;

  constructor(
    private readonly path: string | undefined,
    private readonly key: Ed25519KeyPair,
    private readonly toStdout: boolean,
  ) {
    const last = path && existsSync(path) ? auditLines(readFileSync(path, "utf8")).at(-1) : undefined;
    const entry = last ? parseAuditLine(last.text) : undefined;
    if (typeof entry === "string") throw new Error(`audit log ${path}: last line unreadable (${entry})`);
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
      const entry: AuditEntry = await signAuditEntry(
        { seq: this.seq, time: new Date().toISOString(), event, details, prev_signature: this.prevSignature },
        this.key,
      );
      const line = `${JSON.stringify(entry)}\n`;
      if (this.path) appendFileSync(this.path, line, { mode: 0o600 });
      if (this.toStdout) process.stdout.write(line);
      if (this.network) this.post(this.network, line);
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

  flush(): Promise<void> {
    return this.tail;
  }
}
