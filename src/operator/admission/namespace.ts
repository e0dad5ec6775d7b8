// The admission policy's I/O shell: reads the one cluster fact the pure policy needs, a namespace's labels (its
// allowances), live from the API server so a label a cluster admin just set or removed counts at once, and only
// when the object asks for a right that needs one.
import type { KubeClient } from "../../kube/client.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { ValidationIssue } from "../../resources/validation.ts";
import { type AdmissionPolicy, defaultAdmissionPolicy, policyIssues, requestedRights } from "./policy.ts";

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

/**
 * What the policy refuses in `object`, in `namespace`. When the labels cannot be read, no allowance can be
 * confirmed: the answer is one issue saying so (fail closed), not an exception.
 */
export async function admissionIssues(
  kind: string,
  object: unknown,
  namespace: string | undefined,
  policy: AdmissionPolicy,
  readLabels: NamespaceLabels,
): Promise<ValidationIssue[]> {
  let labels: Readonly<Record<string, string>> | undefined;
  if (namespace && requestedRights(kind, object).length > 0) {
    try {
      labels = await readLabels(namespace);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      return [
        {
          field: "metadata.namespace",
          message: `cannot read the labels of namespace ${namespace} to check its allowances (the operator needs get on namespaces): ${why}`,
        },
      ];
    }
  }
  return policyIssues(kind, object, policy, labels);
}

/**
 * The check a controller makes before rendering an object of a tenant kind (the webhook may not have been called:
 * it was down, or the object predates the policy): "field: message" for each refusal, empty when allowed.
 */
export async function refusedAtReconcile(
  ctx: { readonly client: KubeClient; readonly admissionPolicy?: AdmissionPolicy },
  kind: string,
  object: { readonly metadata?: { readonly namespace?: string } },
  signal: AbortSignal,
): Promise<string[]> {
  const policy = ctx.admissionPolicy ?? defaultAdmissionPolicy();
  const issues = await admissionIssues(
    kind,
    object,
    object.metadata?.namespace,
    policy,
    namespaceLabelsReader(ctx.client, signal),
  );
  return issues.map((i) => `${i.field}: ${i.message}`);
}
