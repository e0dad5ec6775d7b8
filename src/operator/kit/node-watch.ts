// Which node changes wake a controller: one fingerprint of a Node for every kind that watches nodes (SGXPlugin,
// LAS, CAS). Heartbeats and image lists change nothing it reads, so they wake nobody.
import type { V1Node } from "@kubernetes/client-node";
import type { Informer } from "../../kube/informer.ts";
import type { KubeObject } from "../../kube/types.ts";
import { SGX_ENCLAVE_RESOURCE } from "../../resources/defaults.ts";
import { SGX_LABEL_MARKER } from "../node-agent/node-labels.ts";

/**
 * The part of a Node the controllers react to: labels (backup registrations among them), the SGX label marker,
 * SGX capacity, taints, schedulability and readiness.
 */
export const nodeFingerprint = (n: V1Node): string =>
  JSON.stringify([
    n.metadata?.labels ?? {},
    n.metadata?.annotations?.[SGX_LABEL_MARKER] ?? "",
    n.status?.allocatable?.[SGX_ENCLAVE_RESOURCE] ?? "",
    n.spec?.taints ?? [],
    n.spec?.unschedulable ?? false,
    n.status?.conditions?.find((c) => c.type === "Ready")?.status ?? "",
  ]);

/** Subscribes `onChange` to node adds, deletes and updates that change the fingerprint. */
export function onRelevantNodeChange(nodes: Informer<KubeObject>, onChange: () => void): void {
  const fp = (o: KubeObject) => nodeFingerprint(o as V1Node);
  nodes.addHandlers({ add: onChange, delete: onChange, update: (a, b) => fp(a) !== fp(b) && onChange() });
}
