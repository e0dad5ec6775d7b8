// Where each missing piece is tracked, so `not implemented yet (tracked in issue N)` points somewhere real.
// One table: when an issue is renumbered or closed, only this file changes.
export const TRACKING_ISSUE = {
  operator: 4,
  api: 7,
} as const;
