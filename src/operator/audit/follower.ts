// Follows a CAS pod's audit log the documented way (`kubectl logs NAME-0 -c audit -f`, SCONE-INTERFACE §10.6; the
// audit container runs `tail -n +1 -F` of the log file, so a follow starts at the log's first line), as batches of
// lines; `next(waitMs)` returns undefined when nothing came in time, so the caller can cut segments while the log is
// quiet without a second task. Thin: no decisions.
import { AUDIT_CONTAINER, type AuditLogKube, streamLines } from "../../flows/audit/flow.ts";

export const TIMED_OUT = Symbol("timed out");

export interface AuditFollow {
  /** The next batch of lines, `null` when the log stream ended, TIMED_OUT when `waitMs` passed first. */
  next(waitMs: number): Promise<string[] | null | typeof TIMED_OUT>;
  close(): Promise<void>;
}

export async function followAuditLog(
  kube: AuditLogKube,
  pod: { namespace: string; name: string },
  signal: AbortSignal,
): Promise<AuditFollow> {
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  const stream = await kube.followPodLogs(pod, { container: AUDIT_CONTAINER, signal: both });
  const lines = streamLines(stream)[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<string[]>> | undefined;
  return {
    async next(waitMs) {
      pending ??= lines.next();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
        timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, waitMs));
      });
      try {
        const r = await Promise.race([pending, timeout]);
        if (r === TIMED_OUT) return r;
        pending = undefined;
        return r.done ? null : r.value;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      stop.abort();
      // The read in flight ends with the abort, its error the expected one. Not awaited: a stream that ignores the
      // abort (a half-open connection) would hold the shipper, which reads the log again after a silent follow.
      void pending?.catch(() => undefined);
    },
  };
}
