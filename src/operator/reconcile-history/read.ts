// Reading the reconcile history from the cluster (record.ts): what `scone operator history` shows from a laptop, a
// second replica or the pod itself. The resource's namespace is the ConfigMap's own (not what its data claims), and
// cluster-scoped kinds have none.
import type { KubeClient } from "../../kube/client.ts";
import type { KubeObject } from "../../kube/types.ts";
import { isSconeKind, resourceDefinitions } from "../../resources/kinds.ts";
import {
  decodeRecord,
  HISTORY_COMPONENT,
  HISTORY_KEY,
  HISTORY_KIND_LABEL,
  type HistoryRecord,
  type HistoryResult,
} from "./record.ts";

/** One row per entry, in the fields `scone operator history` prints from the store too. */
export interface HistoryRow {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly result: HistoryResult;
  readonly actions: readonly string[];
  readonly error: string | null;
  readonly generation: number | null;
  readonly trigger: string;
  /** The replica that ran it; how many identical outcomes in a row, the last at lastAt. */
  readonly by: string | null;
  readonly repeats: number;
  readonly lastAt: number | null;
}

export interface HistoryFilter {
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly limit: number;
}

/** The record a ConfigMap holds, with the namespace taken from where it lives; undefined if it is not one. */
export function recordOfConfigMap(cm: KubeObject & { data?: Record<string, string> }): HistoryRecord | undefined {
  const r = decodeRecord(cm.data?.[HISTORY_KEY]);
  if (!r || !isSconeKind(r.kind) || cm.metadata?.labels?.[HISTORY_KIND_LABEL] !== r.kind) return undefined;
  const namespaced = resourceDefinitions[r.kind].scope === "Namespaced";
  return { ...r, namespace: namespaced ? (cm.metadata?.namespace ?? "") : "" };
}

/** Rows of the records that match, newest first, at most `limit`. Pure. */
export function historyRows(records: readonly HistoryRecord[], f: HistoryFilter): HistoryRow[] {
  const rows: HistoryRow[] = [];
  for (const r of records) {
    if ((f.kind && r.kind !== f.kind) || (f.name && r.name !== f.name)) continue;
    // Cluster-scoped kinds have no namespace: -n does not filter them out.
    if (f.namespace !== undefined && r.namespace !== "" && r.namespace !== f.namespace) continue;
    for (const e of r.entries)
      rows.push({
        kind: r.kind,
        namespace: r.namespace,
        name: r.name,
        startedAt: e.startedAt,
        durationMs: e.durationMs,
        result: e.result,
        actions: e.actions,
        error: e.error ?? null,
        generation: e.generation ?? null,
        trigger: "operator",
        by: e.by ?? null,
        repeats: e.repeats ?? 1,
        lastAt: e.lastAt ?? null,
      });
  }
  return rows.sort((a, b) => (b.lastAt ?? b.startedAt) - (a.lastAt ?? a.startedAt)).slice(0, f.limit);
}

/** Lists the history ConfigMaps (in `filter.namespace` only when given, else in every namespace). */
export async function readClusterHistory(client: KubeClient, f: HistoryFilter): Promise<HistoryRow[]> {
  const selector = [
    `app.kubernetes.io/component=${HISTORY_COMPONENT}`,
    ...(f.kind ? [`${HISTORY_KIND_LABEL}=${f.kind}`] : []),
  ].join(",");
  const list = await client.listAll<KubeObject & { data?: Record<string, string> }>(
    { apiVersion: "v1", kind: "ConfigMap" },
    { labelSelector: selector, ...(f.namespace ? { namespace: f.namespace } : {}) },
  );
  const records = list.items.map(recordOfConfigMap).filter((r): r is HistoryRecord => r !== undefined);
  return historyRows(records, f);
}
