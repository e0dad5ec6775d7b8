// Which nodes can take over a CAS (pure). The CAS database key is sealed to the nodes registered for backup, and the
// database volume attaches only in its availability zone, so a CAS may move only to a node that is registered for
// backup, in the same zone, labelled for LAS and SGX, schedulable and Ready (SCONE-STACK "Moving CAS off a node").
//
// Backup registrations: the node label the backup controller sets once it registered the node,
// `cas-registered-<cas name>.<cas namespace>-<SCONE version>="true"` — the only public signal of a registration (the
// provider's procedure, SCONE-STACK.md "Moving CAS off a node"; example `cas-registered-cas.osc-scone-system-5.8.0`).
// A registration counts for one CAS version: relocation and the migration ratio ask for the version CAS runs, the
// upgrade gate for the target version (what the backup controller registers once it runs with the new image).
import type { V1Node, V1Taint, V1Toleration } from "@kubernetes/client-node";
import type { CAS } from "../../resources/cas.ts";
import { MIGRATION_NODE_LABELS, ZONE_LABEL } from "./names.ts";

export const REGISTRATION_LABEL_PREFIX = "cas-registered-";
/** A label name without prefix: at most 63 characters, alphanumeric at both ends, `-_.` inside. */
const LABEL_NAME = /^(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** The registration label of CAS namespace/name at `version`; undefined when it cannot be a label (too long). */
export function registrationLabel(namespace: string, name: string, version: string): string | undefined {
  const key = `${REGISTRATION_LABEL_PREFIX}${name}.${namespace}-${version}`;
  return LABEL_NAME.test(key) ? key : undefined;
}

/** The tag of an image reference (`repo/cas:6.0.6` → 6.0.6); undefined for a digest or no tag. */
export function imageVersion(image: string | undefined): string | undefined {
  if (!image || image.includes("@")) return undefined;
  const last = image.slice(image.lastIndexOf("/") + 1);
  return last.includes(":") ? last.slice(last.indexOf(":") + 1) : undefined;
}

/** The version CAS runs: its status (probe or pod image), else its spec image's tag. */
export function runningVersion(cas: CAS): string | undefined {
  const v = cas.status?.version;
  return v && v !== "unknown" ? v : imageVersion(cas.spec?.image as string | undefined);
}

/** Whether `node` carries the registration of this CAS for `version` (default: the version it runs). */
export function isRegisteredFor(node: V1Node, cas: CAS, version = runningVersion(cas)): boolean {
  if (!version) return false;
  const key = registrationLabel(cas.metadata.namespace ?? "", cas.metadata.name ?? "", version);
  return key !== undefined && node.metadata?.labels?.[key] === "true";
}

export const nodeNameOf = (n: V1Node): string => n.metadata?.name ?? "";
export const zoneOf = (n: V1Node | undefined): string | undefined => n?.metadata?.labels?.[ZONE_LABEL];

export const isNodeReady = (n: V1Node): boolean =>
  (n.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

function tolerates(t: V1Toleration, taint: V1Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (!t.key) return t.operator === "Exists";
  if (t.key !== taint.key) return false;
  return t.operator === "Exists" || (t.value ?? "") === (taint.value ?? "");
}

/** Taints that keep a pod with these tolerations off the node (PreferNoSchedule does not). */
export function untoleratedTaints(node: V1Node, tolerations: readonly V1Toleration[] | undefined): V1Taint[] {
  return (node.spec?.taints ?? []).filter(
    (taint) => taint.effect !== "PreferNoSchedule" && !(tolerations ?? []).some((t) => tolerates(t, taint)),
  );
}

const missingLabels = (node: V1Node, wanted: Readonly<Record<string, string>>): string[] =>
  Object.entries(wanted)
    .filter(([k, v]) => node.metadata?.labels?.[k] !== v)
    .map(([k, v]) => `${k}=${v}`);

const byName = (a: V1Node, b: V1Node) => nodeNameOf(a).localeCompare(nodeNameOf(b));

/**
 * Nodes where the backup controller places backup CAS instances (status.desiredNumMigratableNodes): schedulable,
 * labelled like SELECTOR_LABELS, taints tolerated by the backup controller (upstream requires its tolerations to
 * equal the CAS's; §10.4).
 */
export function migrationCandidates(cas: CAS, nodes: readonly V1Node[]): V1Node[] {
  const tolerations = (cas.spec?.["backup-controller"]?.tolerations ?? cas.spec?.tolerations) as
    | V1Toleration[]
    | undefined;
  return nodes
    .filter(
      (n) =>
        !n.spec?.unschedulable &&
        missingLabels(n, MIGRATION_NODE_LABELS).length === 0 &&
        untoleratedTaints(n, tolerations).length === 0,
    )
    .sort(byName);
}

/** The node the CAS pod ran on, as far as the operator still knows it (the Node may be gone). */
export interface OldNode {
  readonly name: string;
  /** Zone of the database volume (its PV) or of the old node; undefined in clusters without zones. */
  readonly zone?: string;
}

export interface RejectedNode {
  readonly node: string;
  readonly reasons: readonly string[];
}

export interface Eligibility {
  /** Names of the nodes CAS may move to, sorted. */
  readonly eligible: readonly string[];
  readonly rejected: readonly RejectedNode[];
}

/** Why `node` cannot take CAS over from `old` (empty: it can). */
export function rejectionReasons(cas: CAS, node: V1Node, old: OldNode): string[] {
  const reasons: string[] = [];
  if (nodeNameOf(node) === old.name) return ["the node CAS is leaving"];
  if (!isRegisteredFor(node, cas)) reasons.push("no backup CAS registered (the database key cannot be opened here)");
  if (old.zone !== undefined && zoneOf(node) !== old.zone)
    reasons.push(`in zone ${zoneOf(node) ?? "(none)"}, the database volume is in ${old.zone}`);
  const missing = missingLabels(node, { ...MIGRATION_NODE_LABELS, ...cas.spec?.nodeSelector });
  if (missing.length) reasons.push(`missing label ${missing.join(", ")}`);
  if (node.spec?.unschedulable) reasons.push("cordoned (unschedulable)");
  if (!isNodeReady(node)) reasons.push("not Ready");
  const taints = untoleratedTaints(node, cas.spec?.tolerations as V1Toleration[] | undefined);
  if (taints.length) reasons.push(`untolerated taint ${taints.map((t) => `${t.key}:${t.effect}`).join(", ")}`);
  return reasons;
}

/** Every node split into those CAS may move to and those it may not, each with its reasons (for `scone cas evict`). */
export function eligibleNodes(cas: CAS, nodes: readonly V1Node[], oldNode: OldNode): Eligibility {
  const eligible: string[] = [];
  const rejected: RejectedNode[] = [];
  for (const node of [...nodes].sort(byName)) {
    const reasons = rejectionReasons(cas, node, oldNode);
    if (reasons.length === 0) eligible.push(nodeNameOf(node));
    else rejected.push({ node: nodeNameOf(node), reasons });
  }
  return { eligible, rejected };
}

/** One line per rejected node, for a condition message ("sgx-node-3: in zone zone-b, …"). */
export const describeRejections = (rejected: readonly RejectedNode[]): string =>
  rejected.map((r) => `${r.node}: ${r.reasons.join("; ")}`).join(". ");
