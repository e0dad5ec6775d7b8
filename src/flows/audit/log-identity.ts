// Which audit log an entry belongs to. A CAS pod writes one log from seq 0 (its audit volume is an emptyDir), so
// after a restart the same CAS has several logs whose seqs overlap; the index keys entries by (log, seq). A log is
// named by the signature of its first entry — or, for a log read from the middle, by the log of the indexed entry it
// continues — so reading the same log again, from its start or from anywhere later, lands on the same name.

export interface IndexedAtSeq {
  /** The indexed entries of this CAS at `seq`, one per log. */
  indexedAt(seq: number): readonly { readonly log: string; readonly signature: string }[];
}

interface EntryLink {
  readonly seq: number;
  readonly signature: string;
  readonly prev_signature: string | null;
}

export class AuditLogIdentity {
  private last: { seq: number; log: string } | undefined;

  constructor(private readonly index: IndexedAtSeq) {}

  /**
   * The log of `entry`, given the entries before it in this read. The next seq of a non-first entry stays in the
   * current log even when its link is broken: a tampered line is a break in that log (the chain check reports it),
   * not the start of another one.
   */
  logOf(entry: EntryLink): string {
    const continues = this.last !== undefined && entry.prev_signature !== null && entry.seq === this.last.seq + 1;
    const log = continues && this.last ? this.last.log : this.nameOf(entry);
    this.last = { seq: entry.seq, log };
    return log;
  }

  private nameOf(entry: EntryLink): string {
    const indexed = this.index.indexedAt(entry.seq).find((e) => e.signature === entry.signature);
    if (indexed) return indexed.log;
    if (entry.prev_signature === null) return entry.signature;
    const predecessor = this.index.indexedAt(entry.seq - 1).find((e) => e.signature === entry.prev_signature);
    return predecessor?.log ?? entry.signature;
  }
}
