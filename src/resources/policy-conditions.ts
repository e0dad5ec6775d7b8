// The states, condition types, condition reasons and Event reasons of a SignedPolicy / EncryptedPolicy (as
// cas-conditions.ts does for a CAS): the operator writes them and every reader recognises a state by these
// constants, never by a condition's human-readable message (which may change wording at any time).
// What each state means: src/operator/policies/status.ts.

/** status.state (SCONE does not enumerate them; ours). */
export const POLICY_STATE = {
  Synced: "Synced",
  Rejected: "Rejected",
  Conflict: "Conflict",
  Superseded: "Superseded",
  Error: "Error",
} as const;
export type PolicyState = (typeof POLICY_STATE)[keyof typeof POLICY_STATE];

/** status.conditions[].type */
export const POLICY_CONDITION = {
  Synced: "Synced",
  /** SignedPolicy: the spec has the documented shape (the CAS verifies the signatures). */
  SignatureValid: "SignatureValid",
  /** EncryptedPolicy: the spec has the documented shape (the CAS decrypts the session). */
  EncryptionKeyValid: "EncryptionKeyValid",
} as const;
export type PolicyConditionType = (typeof POLICY_CONDITION)[keyof typeof POLICY_CONDITION];

/** status.conditions[].reason */
export const POLICY_REASON = {
  // SignatureValid / EncryptionKeyValid
  WellFormed: "WellFormed",
  /** A refusal without a named problem. */
  Invalid: "Invalid",
  // ... False: the operator's own checks (precheck.ts)
  MissingField: "MissingField",
  MalformedField: "MalformedField",
  InvalidCasAddress: "InvalidCasAddress",
  InvalidSession: "InvalidSession",
  MalformedEncryptionKey: "MalformedEncryptionKey",
  // Synced=True: what the CAS did with it
  Created: "Created",
  Updated: "Updated",
  Adopted: "Adopted",
  // Synced=False
  NotSubmitted: "NotSubmitted",
  CasRejected: "CasRejected",
  Superseded: "Superseded",
  CasUnavailable: "CasUnavailable",
  CasNotAttested: "CasNotAttested",
  CasError: "CasError",
} as const;
export type PolicyReason = (typeof POLICY_REASON)[keyof typeof POLICY_REASON];

/** The reasons of the Events the operator records on a policy (besides a Synced reason, status.ts). */
export const POLICY_EVENT_REASON = {
  PolicyMalformed: "PolicyMalformed",
  CasRejected: "CasRejected",
  Superseded: "Superseded",
} as const;
export type PolicyEventReason = (typeof POLICY_EVENT_REASON)[keyof typeof POLICY_EVENT_REASON];
