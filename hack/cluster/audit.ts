// The local cluster's audit log (policy in files.ts: ServiceAccounts outside kube-system, metadata level): who asked
// for what and what the API server answered. The RBAC test and the demo read it to show the operator's rights are
// used and enough.

/** One line of the audit log (metadata level, ResponseComplete stage). */
export interface AuditEvent {
  readonly verb: string;
  readonly requestURI?: string;
  readonly user: { readonly username: string };
  readonly objectRef?: {
    readonly resource?: string;
    readonly subresource?: string;
    readonly namespace?: string;
    readonly apiGroup?: string;
    readonly name?: string;
  };
  readonly responseStatus?: { readonly code?: number };
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The events of one user, in order. */
export function auditEventsOf(logText: string, username: string): AuditEvent[] {
  return logText
    .split("\n")
    .filter((line) => line.includes(username))
    .map((line) => JSON.parse(line) as AuditEvent)
    .filter((e) => e.user.username === username);
}

/**
 * "VERB URI" of each request RBAC refused. Not every 403 is RBAC's: admission answers 403 too, e.g. a write into a
 * namespace being deleted (another test's leftovers the operator still reconciles); the authorizer's decision tells.
 */
export const forbiddenRequests = (events: readonly AuditEvent[]): string[] =>
  events
    .filter((e) => e.responseStatus?.code === 403 && e.annotations?.["authorization.k8s.io/decision"] === "forbid")
    .map((e) => `${e.verb} ${e.requestURI ?? ""}`);
