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
}

/** The events of one user, in order. */
export function auditEventsOf(logText: string, username: string): AuditEvent[] {
  return logText
    .split("\n")
    .filter((line) => line.includes(username))
    .map((line) => JSON.parse(line) as AuditEvent)
    .filter((e) => e.user.username === username);
}

/** "VERB URI" of each request the API server refused with 403 (RBAC said no). */
export const forbiddenRequests = (events: readonly AuditEvent[]): string[] =>
  events.filter((e) => e.responseStatus?.code === 403).map((e) => `${e.verb} ${e.requestURI ?? ""}`);
