// The backup layer's public surface (for `scone cas backup|backups|restore` and the operator's scheduled backups).
// Import it lazily: it pulls in the store (drizzle).
export * from "./errors.ts";
export * from "./layout.ts";
export * from "./list.ts";
export * from "./local-target.ts";
export * from "./location.ts";
export * from "./manifest.ts";
export * from "./open-target.ts";
export * from "./plan.ts";
export * from "./pod-snapshot-source.ts";
export * from "./restore-source.ts";
export * from "./retention.ts";
export * from "./run.ts";
export * from "./s3-credentials.ts";
export * from "./s3-target.ts";
export * from "./schedule.ts";
export * from "./snapshot-source.ts";
export * from "./tar.ts";
export * from "./target.ts";
export * from "./verify.ts";
