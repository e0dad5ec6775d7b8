// The condition types, condition reasons and Event reasons of a CAS (as CloudNativePG's cluster_conditions.go does
// for a Cluster): the operator writes them and every reader recognises a state by these constants, never by a
// condition's human-readable message (which may change wording at any time).

/** status.conditions[].type */
export const CAS_CONDITION = {
  Ready: "Ready",
  Progressing: "Progressing",
  Degraded: "Degraded",
  CASReachable: "CASReachable",
  Attested: "Attested",
  NodeHealthy: "NodeHealthy",
  SpecApplied: "SpecApplied",
  UpgradeBlocked: "UpgradeBlocked",
  /** The audit log is shipped to the archive (written only when the operator ships audit logs). */
  AuditShipped: "AuditShipped",
} as const;
export type CasConditionType = (typeof CAS_CONDITION)[keyof typeof CAS_CONDITION];

/** status.conditions[].reason */
export const CAS_REASON = {
  // Ready / Progressing / Degraded
  Healthy: "Healthy",
  RollingOut: "RollingOut",
  RolloutComplete: "RolloutComplete",
  AsExpected: "AsExpected",
  Unhealthy: "Unhealthy",
  // Problems (the reason of Ready=False and Degraded=True)
  Installing: "Installing",
  NodeLost: "NodeLost",
  PodNotReady: "PodNotReady",
  CASUnreachable: "CASUnreachable",
  AttestationFailed: "AttestationFailed",
  NotProvisioned: "NotProvisioned",
  EvictionAllowed: "EvictionAllowed",
  BackupControllerUnavailable: "BackupControllerUnavailable",
  NoMigrationNodes: "NoMigrationNodes",
  EnablingMigration: "EnablingMigration",
  SnapshotFailure: "SnapshotFailure",
  SafetyServiceUnhealthy: "SafetyServiceUnhealthy",
  // CASReachable
  Answering: "Answering",
  NotAnswering: "NotAnswering",
  // Attested
  Attested: "Attested",
  NotAsked: "NotAsked",
  // NodeHealthy
  NodeReady: "NodeReady",
  NoEligibleNode: "NoEligibleNode",
  Relocating: "Relocating",
  // SpecApplied
  Applied: "Applied",
  NotAllowed: "NotAllowed",
  InvalidSpec: "InvalidSpec",
  ImmutableField: "ImmutableField",
  // UpgradeBlocked=True (the upgrade plan, src/operator/cas/upgrade.ts)
  BackupControllerDisabled: "BackupControllerDisabled",
  WaitingForBackupController: "WaitingForBackupController",
  MigrationIncomplete: "MigrationIncomplete",
  WaitingForRegistrations: "WaitingForRegistrations",
  // UpgradeBlocked=False
  UpgradeForced: "UpgradeForced",
  Upgrading: "Upgrading",
  NoUpgradePending: "NoUpgradePending",
  // AuditShipped
  Shipped: "Shipped",
  ShippingLagging: "ShippingLagging",
  ShippingFailed: "ShippingFailed",
  ChainRejected: "ChainRejected",
  WaitingForLog: "WaitingForLog",
} as const;
export type CasReason = (typeof CAS_REASON)[keyof typeof CAS_REASON];

/** The reasons of the Events the operator records on a CAS (besides a condition's own reason, events.ts). */
export const CAS_EVENT_REASON = {
  Healthy: "Healthy",
  Unhealthy: "Unhealthy",
  Provisioned: "Provisioned",
  AttestationFailed: "AttestationFailed",
  CASUnreachable: "CASUnreachable",
  UpgradeBlocked: "UpgradeBlocked",
  UpgradeForced: "UpgradeForced",
  AuditShippingFailed: "AuditShippingFailed",
  AuditShippingResumed: "AuditShippingResumed",
  AuditSegmentUnverified: "AuditSegmentUnverified",
  /** The CAS pod's node is gone or not ready; the pod is being moved (apply.ts). */
  NodeLost: "NodeLost",
  /** The CAS was deleted and its database volume kept (apply.ts). */
  DatabaseKept: "DatabaseKept",
  AuditLogGap: "AuditLogGap",
} as const;
export type CasEventReason = (typeof CAS_EVENT_REASON)[keyof typeof CAS_EVENT_REASON];
