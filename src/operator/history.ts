// Every reconcile leaves one row in the store: what was asked, what was done, how long it took, how it ended.
// The store is local (the operator's volume); a failing write is logged, never thrown into the controller.
import type { Logger } from "../log.ts";
import type { ReconcileRecord } from "../runtime/controller.ts";
import type { Store } from "../store/open.ts";

export function historyRecorder(store: Store, kindOf: (controller: string) => string, log: Logger) {
  return async (r: ReconcileRecord): Promise<void> => {
    const { recordReconcile } = await import("../store/history.ts");
    try {
      recordReconcile(store.db, {
        kind: kindOf(r.controller),
        namespace: r.request.namespace ?? "",
        name: r.request.name,
        generation: r.generation ?? 0,
        resourceVersion: r.resourceVersion ?? null,
        startedAt: r.startedAt,
        durationMs: Math.round(r.durationMs),
        result: r.outcome,
        actions: [...r.actions],
        error: r.error ?? null,
        trigger: "operator",
      });
    } catch (e) {
      log.warn("could not record reconcile history", { error: e instanceof Error ? e.message : String(e) });
    }
  };
}
