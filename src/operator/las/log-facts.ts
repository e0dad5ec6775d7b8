// The QE public key of each node, read from its LAS pod's log (`… SCONE QE has public key <64 hex>`), best
// effort: a log that cannot be read, or does not show the key yet, leaves the key empty. Results are cached per
// pod uid, so a pod's log is read once it shows the key, and retried at most every `retryMs` until then.
import type { LasLogFacts } from "./status.ts";

const QE_KEY_LINE = /SCONE QE has public key ([0-9a-fA-F]{64})\b/;

/** The last QE public key the log announces (lower case), or undefined. */
export function parseQePublicKey(log: string): string | undefined {
  let key: string | undefined;
  for (const line of log.split("\n")) {
    const m = QE_KEY_LINE.exec(line);
    if (m?.[1]) key = m[1].toLowerCase();
  }
  return key;
}

export interface LogSource {
  /** The LAS container's log; throws when it cannot be read. */
  read(pod: { namespace: string; name: string }, signal?: AbortSignal): Promise<string>;
}

interface Entry {
  facts?: LasLogFacts;
  triedAtMs: number;
  pending?: Promise<void>;
}

export class LasLogFactsCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly source: LogSource,
    private readonly opts: { retryMs: number; now: () => number } = { retryMs: 60_000, now: Date.now },
  ) {}

  /** Cached facts of a pod (by uid); undefined until its log was read successfully once. */
  get(uid: string): LasLogFacts | undefined {
    return this.entries.get(uid)?.facts;
  }

  /**
   * Reads the logs of pods whose key is still unknown (at most once per retry interval each) and forgets pods that
   * are gone. Never throws: a failed read keeps the previous facts.
   */
  async refresh(
    pods: readonly { uid: string; namespace: string; name: string }[],
    signal?: AbortSignal,
  ): Promise<void> {
    const live = new Set(pods.map((p) => p.uid));
    for (const uid of this.entries.keys()) if (!live.has(uid)) this.entries.delete(uid);
    const now = this.opts.now();
    await Promise.all(
      pods.map(async (p) => {
        let e = this.entries.get(p.uid);
        if (e?.pending) return e.pending;
        if (e?.facts?.publicKey) return;
        if (e && now - e.triedAtMs < this.opts.retryMs) return;
        e ??= { triedAtMs: now };
        e.triedAtMs = now;
        this.entries.set(p.uid, e);
        const entry = e;
        entry.pending = this.source
          .read(p, signal)
          .then((log) => {
            const publicKey = parseQePublicKey(log);
            // computedAt changes only when the answer does, so repeated reads of an unchanged log write nothing.
            if (entry.facts && entry.facts.publicKey === publicKey) return;
            entry.facts = { computedAt: Math.floor(now / 1000), ...(publicKey ? { publicKey } : {}) };
          })
          .catch(() => {})
          .finally(() => {
            entry.pending = undefined;
          });
        return entry.pending;
      }),
    );
  }

  /** Whether some pod still has no key (the controller then checks back later). */
  missingKeys(uids: readonly string[]): boolean {
    return uids.some((u) => !this.entries.get(u)?.facts?.publicKey);
  }
}
