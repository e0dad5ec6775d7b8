// Connects an endpoint to its pure handler, looking up the one fact validation needs from the cluster: the
// existing objects of a singleton kind (LAS, SGXPlugin), read live so two creates in a row cannot both pass.
import type { WebhookDefaultsOptions } from "../../resources/defaults.ts";
import type { AdmissionReview } from "./admission.ts";
import type { WebhookKind } from "./endpoints.ts";
import { type ExistingObject, mutateAdmission, SINGLETON_KINDS, validateAdmission } from "./handlers.ts";
import type { AdmissionHandler } from "./http.ts";

export interface DispatchOptions {
  readonly defaults: WebhookDefaultsOptions;
  /** The existing objects of a cluster-scoped singleton kind. */
  readonly listExisting: (kind: WebhookKind) => Promise<readonly ExistingObject[]>;
}

export function admissionDispatcher(opts: DispatchOptions): AdmissionHandler {
  return async (endpoint, review): Promise<AdmissionReview> => {
    if (endpoint.type === "mutating") return mutateAdmission(endpoint.kind, review, opts.defaults);
    const needsExisting = review.request?.operation === "CREATE" && SINGLETON_KINDS.has(endpoint.kind);
    const existing = needsExisting ? await opts.listExisting(endpoint.kind) : [];
    return validateAdmission(endpoint.kind, review, { existing });
  };
}
