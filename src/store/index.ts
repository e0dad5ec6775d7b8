// The store's public surface. Import it lazily (`await import("../store/index.ts")`): it pulls in drizzle.
export * from "./api-audit.ts";
export * from "./audit.ts";
export * from "./backups.ts";
export * from "./errors.ts";
export { SCONE_APPLICATION_ID, StoreCorruptError, StoreForeignError } from "./file-check.ts";
export * from "./history.ts";
export { StoreMigrationError, StoreVersionError } from "./migrate.ts";
export { DB_FILE, type OpenStoreOptions, openStore, type Store, type StoreDb } from "./open.ts";
export * from "./operations.ts";
export * from "./schema.ts";
export * from "./state-dir.ts";
export * from "./tokens.ts";
