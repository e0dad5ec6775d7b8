// Which nodes can take over a CAS (pure). The CAS database key is sealed to the nodes registered for backup, and the
// database volume attaches only in its availability zone, so a CAS may move only to a node that is registered for
// backup, in the same zone, labelled for LAS and SGX, schedulable and Ready (SCONE-STACK "Moving CAS off a node").
//
// Backup registrations [inferred]: upstream's backup controller keeps them to itself. scone makes them visible as a
// node annotation `cas.scone.cloud/backup-registered-<namespace>.<name>=<RFC 3339 time>` that the backup controller
// (and the CAS simulator, and tests) write once `scone cas register-backup` succeeded on that node. When
// `<namespace>.<name>` is longer than the 45 characters an annotation name part leaves, a hash stands in for it.
import type { V1Node, V1Taint, V1Toleration } from "@kubernetes/client-node";
import type { CAS } from "../../resources/cas.ts";
import { MIGRATION_NODE_LABELS, ZONE_LABEL } from "./names.ts";

export const REGISTRATION_PREFIX = "cas.scone.cloud/backup-registered-";
const NAME_PART_ROOM = 63 - "backup-registered-".length;

/** The annotation key recording that `node` holds a registered backup of CAS namespace/name. */
export function registrationAnnotation(namespace: string, name: string): string {
  const id = `${namespace}.${name}`;
  if (id.length <= NAME_PART_ROOM) return `${REGISTRATION_PREFIX}${id}`;
  const hash = new Bun.CryptoHasher("sha256").update(`${namespace}/${name}`).digest("hex").slice(0, 32);
  return `${REGISTRATION_PREFIX}${hash}`;
}

const casId = (cas: CAS) => ({ namespace: cas.metadata.namespace ?? "", name: cas.metadata.name ?? "" });

/** The registration time recorded on `node` for this CAS (RFC 3339), if any. */
export const registrationOf = (node: V1Node, cas: CAS): string | undefined => {
  const { namespace, name } = casId(cas);
  const value = node.metadata?.annotations?.[registrationAnnotation(namespace, name)];
  return value === "" ? undefined : value;
};

export const isRegisteredFor = (node: V1Node, cas: CAS): boolean => registrationOf(node, cas) !== undefined;

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
