// Node labels the SGXPlugin and LAS controllers keep (pure planning; the controllers send the patches).
// A node gets a patch only when one of its labels differs from the plan, so a steady cluster sees no writes.
//
// sgx.intel.com/capable is also set by other tools (NFD rules, installers, the test cluster), so the SGXPlugin
// controller marks the nodes where IT set the label and only ever removes the label from those. It sets the label
// where a plugin pod is ready and the node advertises SGX devices, and removes it where the node stops
// advertising devices or is no longer selected — not when a plugin pod is briefly unready (a rolling update),
// because LAS and other DaemonSets selecting on the label would lose their pods. The las.scontain.com/* labels
// exist only for the LAS controller, which owns them outright.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { LAS_CAPABLE_LABEL, SGX_CAPABLE_LABEL } from "../../resources/defaults.ts";
import { isPodReady, nodeName, podsByNode, sgxCapacity } from "./node-facts.ts";

export const SGX_LABEL_MARKER = "base.scone.cloud/sgx-capable-label";
export const SGX_LABEL_MARKER_VALUE = "set-by-sgxplugin";
export const LAS_OK_LABEL = "las.scontain.com/ok";

/** A JSON merge patch of one node's labels and annotations (null removes a key). */
export interface NodeLabelPatch {
  readonly node: string;
  readonly labels: Record<string, string | null>;
  readonly annotations: Record<string, string | null>;
}

/** Only the keys whose value differs from the node's; undefined when the node already matches. */
export function diffNodeMetadata(
  node: V1Node,
  labels: Readonly<Record<string, string | null>>,
  annotations: Readonly<Record<string, string | null>> = {},
): NodeLabelPatch | undefined {
  const changed = (have: Record<string, string> | undefined, want: Readonly<Record<string, string | null>>) => {
    const out: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(want)) if ((have?.[k] ?? null) !== v) out[k] = v;
    return out;
  };
  const l = changed(node.metadata?.labels, labels);
  const a = changed(node.metadata?.annotations, annotations);
  if (Object.keys(l).length === 0 && Object.keys(a).length === 0) return undefined;
  return { node: nodeName(node), labels: l, annotations: a };
}

export const toMergePatch = (p: NodeLabelPatch) => ({
  metadata: {
    ...(Object.keys(p.labels).length ? { labels: p.labels } : {}),
    ...(Object.keys(p.annotations).length ? { annotations: p.annotations } : {}),
  },
});

const markedBySgxPlugin = (n: V1Node) => n.metadata?.annotations?.[SGX_LABEL_MARKER] === SGX_LABEL_MARKER_VALUE;

/**
 * SGXPlugin: label nodes with a ready plugin pod and SGX devices; unlabel (only) nodes we labelled that no longer
 * qualify. `selected` = names of the nodes the plugin DaemonSet selects; `removeAll` when the plugin is deleted.
 */
export function planSgxNodeLabels(
  nodes: readonly V1Node[],
  pluginPods: readonly V1Pod[],
  selected: ReadonlySet<string>,
  removeAll = false,
): NodeLabelPatch[] {
  const pods = podsByNode(pluginPods);
  const out: NodeLabelPatch[] = [];
  const unlabel = { [SGX_CAPABLE_LABEL]: null };
  const unmark = { [SGX_LABEL_MARKER]: null };
  for (const node of nodes) {
    const name = nodeName(node);
    const marked = markedBySgxPlugin(node);
    let patch: NodeLabelPatch | undefined;
    if (removeAll || !selected.has(name) || sgxCapacity(node) === 0) {
      if (marked) patch = diffNodeMetadata(node, unlabel, unmark);
    } else {
      const pod = pods.get(name);
      const labelled = node.metadata?.labels?.[SGX_CAPABLE_LABEL] === "true";
      if (!labelled && pod && isPodReady(pod))
        patch = diffNodeMetadata(node, { [SGX_CAPABLE_LABEL]: "true" }, { [SGX_LABEL_MARKER]: SGX_LABEL_MARKER_VALUE });
    }
    if (patch) out.push(patch);
  }
  return out;
}

/** What the LAS controller knows about one selected node. */
export interface LasNodeHealth {
  /** The LAS container is ready (its API answers). */
  readonly capable: boolean;
  /** The LAS pod is ready and its probe succeeds. */
  readonly ok: boolean;
}

/**
 * LAS: every node LAS selects carries las.scontain.com/capable and /ok as "true"/"false"; other nodes carry
 * neither. `health` is keyed by the selected nodes' names; `removeAll` when the LAS is deleted.
 */
export function planLasNodeLabels(
  nodes: readonly V1Node[],
  health: ReadonlyMap<string, LasNodeHealth>,
  removeAll = false,
): NodeLabelPatch[] {
  const out: NodeLabelPatch[] = [];
  for (const node of nodes) {
    const h = removeAll ? undefined : health.get(nodeName(node));
    const want = h
      ? { [LAS_CAPABLE_LABEL]: String(h.capable), [LAS_OK_LABEL]: String(h.ok) }
      : { [LAS_CAPABLE_LABEL]: null, [LAS_OK_LABEL]: null };
    const patch = diffNodeMetadata(node, want);
    if (patch) out.push(patch);
  }
  return out;
}
