// The condition types, condition reasons and Event reasons of the services whose health src/operator/kit/health.ts
// assesses (LAS, SGXPlugin, Vault); readers recognise a state by these constants, never by a condition's message (as
// cas-conditions.ts for a CAS, after CloudNativePG's cluster_conditions.go).

/** status.conditions[].type of LAS, SGXPlugin and Vault. */
export const SERVICE_CONDITION = {
  Ready: "Ready",
  Progressing: "Progressing",
  Degraded: "Degraded",
} as const;

/** status.conditions[].reason shared by the three (kit/health.ts). */
export const SERVICE_REASON = {
  Healthy: "Healthy",
  RollingOut: "RollingOut",
  RolloutComplete: "RolloutComplete",
  AsExpected: "AsExpected",
  /** The DaemonSet does not exist or reports no status yet. */
  Installing: "Installing",
  /** Nodes or pods could not be read. */
  Unobservable: "Unobservable",
} as const;

/** The problems of a LAS (the reason of Ready=False and Degraded=True). */
export const LAS_REASON = {
  NoSGXNodes: "NoSGXNodes",
  LASPodsUnavailable: "LASPodsUnavailable",
  ProbeFailing: "ProbeFailing",
} as const;

/** The problems of an SGXPlugin. */
export const SGXPLUGIN_REASON = {
  NoSGXNodes: "NoSGXNodes",
  PluginPodsUnavailable: "PluginPodsUnavailable",
  NoAvailableSGXDevices: "NoAvailableSGXDevices",
} as const;

/** The problems of a Vault. */
export const VAULT_REASON = {
  StatefulSetMissing: "StatefulSetMissing",
  PodsNotReady: "PodsNotReady",
} as const;

/** The Events on a state transition of a LAS, SGXPlugin or Vault. */
export const SERVICE_EVENT_REASON = {
  Healthy: "Healthy",
  Unhealthy: "Unhealthy",
} as const;
