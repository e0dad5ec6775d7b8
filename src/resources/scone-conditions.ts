// The condition types, condition reasons and Event reasons of the Scone stack (as cas-conditions.ts for a CAS, after
// CloudNativePG's cluster_conditions.go): the operator writes them and readers recognise a state by these constants,
// never by a condition's message.

/** status.conditions[].type */
export const SCONE_CONDITION = {
  Ready: "Ready",
  Progressing: "Progressing",
  Degraded: "Degraded",
  /** Where the operator's own Deployment runs (spec.operatorNodeSelector). */
  OperatorPlacement: "OperatorPlacement",
  /** The scheduled CAS backup (spec.backup). */
  BackupScheduled: "BackupScheduled",
} as const;
export type SconeConditionType = (typeof SCONE_CONDITION)[keyof typeof SCONE_CONDITION];

/** status.conditions[].reason */
export const SCONE_REASON = {
  // Ready / Progressing / Degraded
  Deployed: "Deployed",
  ComponentsSettling: "ComponentsSettling",
  ComponentUnhealthy: "ComponentUnhealthy",
  Unmanaged: "Unmanaged",
  NotReconciled: "NotReconciled",
  Error: "Error",
  WaitingForChange: "WaitingForChange",
  Retrying: "Retrying",
  WaitingForCasUpgrade: "WaitingForCasUpgrade",
  // OperatorPlacement
  Applied: "Applied",
  Recorded: "Recorded",
  // BackupScheduled
  Scheduled: "Scheduled",
  NoCas: "NoCas",
  NoBackupTarget: "NoBackupTarget",
  LastBackupFailed: "LastBackupFailed",
} as const;
export type SconeReason = (typeof SCONE_REASON)[keyof typeof SCONE_REASON];

/** The reasons of the Events the operator records on a Scone stack. */
export const SCONE_EVENT_REASON = {
  PhaseChanged: "PhaseChanged",
  CasCreated: "CasCreated",
  Uninstalled: "Uninstalled",
} as const;
export type SconeEventReason = (typeof SCONE_EVENT_REASON)[keyof typeof SCONE_EVENT_REASON];
