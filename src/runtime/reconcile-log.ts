// Failed reconciles reach the operator's log, not only the history store: `kubectl logs` and a log collector are
// where an on-call person looks first, and the history may be on a volume they cannot read. One line per failure,
// at error level (as controller-runtime's "Reconciler error"), naming the controller, the resource and the reason.
import type { Logger } from "../log.ts";
import type { ReconcileRecord } from "./controller.ts";

/** The record handler that logs each failed reconcile, then hands every record to `next` (the history). */
export function withFailureLog(log: Logger, next: (r: ReconcileRecord) => void): (r: ReconcileRecord) => void {
  return (r) => {
    if (r.outcome === "error" || r.outcome === "terminal") {
      const resource = r.request.namespace ? `${r.request.namespace}/${r.request.name}` : r.request.name;
      log.error("reconcile failed", {
        controller: r.controller,
        resource,
        reason: r.error ?? "unknown",
        // A terminal failure waits for a change of the resource; any other is retried with backoff.
        retry: r.outcome === "error",
      });
    }
    next(r);
  };
}
