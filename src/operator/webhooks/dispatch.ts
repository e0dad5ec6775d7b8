// Connects an endpoint to its pure handler, looking up the facts validation needs from the cluster, live so two
// writes in a row cannot both pass on a stale cache: the existing objects of a singleton kind (LAS, SGXPlugin),
// and the labels of the object's namespace (its allowances), read only when the object asks for such a right.
import type { WebhookDefaultsOptions } from "../../resources/defaults.ts";
import { admissionIssues, type NamespaceLabels } from "../admission/namespace.ts";
import type { AdmissionPolicy } from "../admission/policy.ts";
import type { AdmissionReview } from "./admission.ts";
import type { WebhookKind } from "./endpoints.ts";
import { type ExistingObject, mutateAdmission, SINGLETON_KINDS, specChanged, validateAdmission } from "./handlers.ts";
import type { AdmissionHandler } from "./http.ts";

export interface DispatchOptions {
  readonly defaults: WebhookDefaultsOptions;
  /** The existing objects of a cluster-scoped singleton kind. */
  readonly listExisting: (kind: WebhookKind) => Promise<readonly ExistingObject[]>;
  /** The cluster admin's admission policy (allowed registries). */
  readonly policy: AdmissionPolicy;
  /** Labels of a namespace (undefined: it does not exist). */
  readonly namespaceLabels: NamespaceLabels;
}

export function admissionDispatcher(opts: DispatchOptions): AdmissionHandler {
  return async (endpoint, review): Promise<AdmissionReview> => {
    if (endpoint.type === "mutating") return mutateAdmission(endpoint.kind, review, opts.defaults);
    const needsExisting = review.request?.operation === "CREATE" && SINGLETON_KINDS.has(endpoint.kind);
    const existing = needsExisting ? await opts.listExisting(endpoint.kind) : [];
    const request = review.request;
    // Only writes that validateAdmission looks at (an UPDATE of metadata only passes untouched).
    const checked =
      request?.operation === "CREATE" ||
      (request?.operation === "UPDATE" && specChanged(request.object, request.oldObject));
    const policyIssues = checked
      ? await admissionIssues(endpoint.kind, request?.object, request?.namespace, opts.policy, opts.namespaceLabels)
      : [];
    return validateAdmission(endpoint.kind, review, { existing, policyIssues });
  };
}
