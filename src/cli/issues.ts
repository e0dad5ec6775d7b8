// Where each missing piece is tracked, so `not implemented yet (tracked in issue N)` points somewhere real.
// One table: when an issue is renumbered or closed, only this file changes.
export const TRACKING_ISSUE = {
  operator: 4,
  operatorInstall: 5,
  api: 6,
  casProvision: 7,
  casLifecycle: 8,
  casBackup: 9,
  policies: 10,
  vault: 11,
} as const;
