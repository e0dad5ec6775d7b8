// The one cluster fact the admission policy reads: a namespace's labels (its allowances), read live from the API
// server, so a label a cluster admin just set or removed counts at once.
import type { KubeClient } from "../../kube/client.ts";
import type { KubeObject } from "../../kube/types.ts";

export type NamespaceLabels = (namespace: string) => Promise<Readonly<Record<string, string>> | undefined>;

/** Labels of a namespace; undefined when it does not exist. Throws when it cannot be read (e.g. no permission). */
export function namespaceLabelsReader(client: KubeClient, signal?: AbortSignal): NamespaceLabels {
  return async (namespace) => {
    const ns = await client.tryGet<KubeObject>(
      { apiVersion: "v1", kind: "Namespace", name: namespace },
      signal ? { signal } : {},
    );
    return ns ? (ns.metadata?.labels ?? {}) : undefined;
  };
}
