// `scone cas status` (in the spirit of `kubectl cnpg status`): everything an operator of a CAS wants on one screen,
// computed from what was observed (pure) and rendered as text or JSON.
import { eligibleNodes, zoneOf } from "../../operator/cas/nodes.ts";
import type { BackupRecord } from "../../store/backups.ts";
import type { ReconcileRecord } from "../../store/history.ts";
import { readEvictMarker } from "../evict/plan.ts";
import { RESTORED_FROM_ANNOTATION } from "../restore/plan.ts";
import type { CasObservation } from "./observe.ts";

export interface CasStatusReport {
  readonly namespace: string;
  readonly name: string;
  readonly exists: boolean;
  readonly phase?: string;
  readonly state?: string;
  readonly provisioned?: string;
  readonly attestable?: string;
  readonly version?: string;
  readonly image?: string;
  readonly snapshots: { readonly status?: string; readonly last?: string; readonly intervalSeconds?: number };
  readonly migration: { readonly ratio?: string; readonly registered?: number; readonly desired?: number };
  readonly pod: { readonly node?: string; readonly zone?: string; readonly phase?: string; readonly ready: boolean };
  /** Nodes CAS could move to now (scone cas evict), and why the others cannot take it. */
  readonly moveTargets: {
    readonly eligible: readonly string[];
    readonly rejected: readonly { node: string; reasons: readonly string[] }[];
  };
  readonly conditions: readonly { type: string; status: string; reason?: string; message?: string }[];
  readonly evictInProgress?: string;
  readonly restoredFrom?: string;
  readonly backups: readonly Pick<
    BackupRecord,
    "id" | "phase" | "startedAt" | "stoppedAt" | "target" | "sizeBytes" | "error"
  >[];
  readonly history: readonly Pick<ReconcileRecord, "startedAt" | "result" | "trigger" | "durationMs" | "error">[];
}

export function buildStatusReport(
  id: { namespace: string; name: string },
  observed: CasObservation,
  backups: readonly BackupRecord[],
  history: readonly ReconcileRecord[],
): CasStatusReport {
  const { cas, pod, nodes } = observed;
  const s = cas?.status;
  const node = pod?.spec?.nodeName;
  const zone = observed.volumeZone ?? zoneOf(nodes.find((n) => n.metadata?.name === node));
  const moves = cas && node ? eligibleNodes(cas, nodes, { name: node, ...(zone ? { zone } : {}) }) : undefined;
  const marker = readEvictMarker(cas);
  const restoredFrom = cas?.metadata.annotations?.[RESTORED_FROM_ANNOTATION];
  return {
    ...id,
    exists: cas !== undefined,
    ...(s?.phase ? { phase: s.phase } : {}),
    ...(s?.state ? { state: s.state } : {}),
    ...(s?.provisioned ? { provisioned: s.provisioned } : {}),
    ...(s?.attestable ? { attestable: s.attestable } : {}),
    ...(s?.version ? { version: s.version } : {}),
    ...(cas?.spec?.image ? { image: cas.spec.image } : {}),
    snapshots: {
      ...(s?.snapshotStatus ? { status: s.snapshotStatus } : {}),
      ...(s?.snapshotTimestamp ? { last: s.snapshotTimestamp } : {}),
      ...(s?.snapshotConfiguredInterval !== undefined ? { intervalSeconds: Number(s.snapshotConfiguredInterval) } : {}),
    },
    migration: {
      ...(s?.migrationNodeRatio ? { ratio: s.migrationNodeRatio } : {}),
      ...(s?.numMigratableNodes !== undefined ? { registered: s.numMigratableNodes } : {}),
      ...(s?.desiredNumMigratableNodes !== undefined ? { desired: s.desiredNumMigratableNodes } : {}),
    },
    pod: {
      ...(node ? { node } : {}),
      ...(zone ? { zone } : {}),
      ...(pod?.status?.phase ? { phase: pod.status.phase } : {}),
      ready: (pod?.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"),
    },
    moveTargets: moves
      ? { eligible: moves.eligible, rejected: moves.rejected.filter((r) => r.node !== node) }
      : { eligible: [], rejected: [] },
    conditions: (s?.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      ...(c.reason ? { reason: c.reason } : {}),
      ...(c.message ? { message: c.message } : {}),
    })),
    ...(marker ? { evictInProgress: marker.from } : {}),
    ...(restoredFrom ? { restoredFrom } : {}),
    backups: backups.map((b) => ({
      id: b.id,
      phase: b.phase,
      startedAt: b.startedAt,
      stoppedAt: b.stoppedAt,
      target: b.target,
      sizeBytes: b.sizeBytes,
      error: b.error,
    })),
    history: history.map((h) => ({
      startedAt: h.startedAt,
      result: h.result,
      trigger: h.trigger,
      durationMs: h.durationMs,
      error: h.error,
    })),
  };
}

const iso = (ms: number | null | undefined): string =>
  ms === null || ms === undefined ? "-" : `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")}Z`;

/** The text form: labelled lines, then sections. */
export function formatStatusReport(r: CasStatusReport): string {
  if (!r.exists) return `CAS ${r.namespace}/${r.name} does not exist\n`;
  const lines: string[] = [];
  const row = (label: string, value: string | number | undefined) =>
    lines.push(`${`${label}:`.padEnd(20)}${value ?? "-"}`);
  lines.push(`CAS ${r.namespace}/${r.name}`);
  row("Phase", r.phase);
  row("State", r.state);
  row("Provisioned", r.provisioned);
  row("Attestable", r.attestable);
  row("Version", r.version);
  row("Image", r.image);
  row(
    "Node",
    r.pod.node
      ? `${r.pod.node}${r.pod.zone ? ` (${r.pod.zone})` : ""}${r.pod.ready ? ", Ready" : `, ${r.pod.phase ?? "not Ready"}`}`
      : "(no pod)",
  );
  row(
    "Snapshots",
    [r.snapshots.status, r.snapshots.last ? `last ${r.snapshots.last}` : undefined].filter(Boolean).join(", ") ||
      undefined,
  );
  row("Migration", r.migration.ratio);
  row("Move targets", r.moveTargets.eligible.length > 0 ? r.moveTargets.eligible.join(", ") : "none");
  if (r.evictInProgress) row("Move in progress", `away from ${r.evictInProgress} (rerun scone cas evict to finish)`);
  if (r.restoredFrom) row("Restored from", r.restoredFrom);
  for (const rej of r.moveTargets.rejected) lines.push(`  ${rej.node}: ${rej.reasons.join("; ")}`);
  const notable = r.conditions.filter((c) => (c.type === "UpgradeBlocked" ? c.status === "True" : c.status !== "True"));
  if (notable.length > 0) {
    lines.push("", "Conditions:");
    for (const c of notable)
      lines.push(`  ${c.type}=${c.status} ${c.reason ?? ""}${c.message ? `: ${c.message}` : ""}`);
  }
  lines.push("", "Backups:");
  if (r.backups.length === 0) lines.push("  (none in this catalog)");
  for (const b of r.backups)
    lines.push(`  ${b.id}  ${b.phase.padEnd(9)}  ${iso(b.startedAt)}  ${b.target}${b.error ? `  ${b.error}` : ""}`);
  if (r.history.length > 0) {
    lines.push("", "Recent reconciles:");
    for (const h of r.history)
      lines.push(
        `  ${iso(h.startedAt)}  ${h.result}  ${h.trigger}  ${h.durationMs} ms${h.error ? `  ${h.error}` : ""}`,
      );
  }
  return `${lines.join("\n")}\n`;
}
