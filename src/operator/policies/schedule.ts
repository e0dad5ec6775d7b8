// How policy submissions share the CASes: at most `perCas` at once per CAS (each holds one or more CLI calls), and
// the submissions of one session one after another, in the order they asked — a version and its successor never
// race at the CAS. A failing submission is its own: the next one in line runs. The controller's workers bound the
// reconciles overall; this keeps one busy or slow CAS from taking every CLI call slot of the others.
import { KeyedGate } from "../../cas/driver/config-sync.ts";

/** Submissions per CAS at once, by default (the CLI pod runs them side by side; config-sync bounds per config). */
export const DEFAULT_SUBMISSIONS_PER_CAS = 8;

export class SubmissionScheduler {
  private readonly sessions = new KeyedGate(1);
  private readonly cases: KeyedGate;
  private anonymous = 0;

  constructor(perCas = DEFAULT_SUBMISSIONS_PER_CAS) {
    if (!Number.isInteger(perCas) || perCas < 1)
      throw new RangeError(`submissions per CAS must be a whole number of at least 1, not ${perCas}`);
    this.cases = new KeyedGate(perCas);
  }

  /**
   * Runs `task` for a submission to CAS `cas` (namespace/name); `session` is the session it writes, when known (an
   * EncryptedPolicy's is inside the ciphertext: only the CAS bound applies). The session's turn comes first, then a
   * CAS slot, so a submission waiting for its session holds no slot.
   */
  run<T>(cas: string, session: string | undefined, task: () => Promise<T>): Promise<T> {
    // Without a session, a key of its own: every submission takes the same path, so they reach the CAS bound in the
    // order they asked.
    const key = session === undefined ? `\u0001${++this.anonymous}` : `${cas}\u0000${session}`;
    return this.sessions.run(key, () => this.cases.runShared(cas, task));
  }

  /** Submissions to `cas` running now. */
  running(cas: string): number {
    return this.cases.active(cas);
  }
}
