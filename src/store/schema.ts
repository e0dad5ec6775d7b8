// Tables of the local state database (drizzle, bun:sqlite). Conventions: timestamps are integer milliseconds
// since the epoch (UTC), JSON is stored as text with a typed `$type<>()`, namespace is "" for cluster-scoped
// objects. Changing this file means: `bun run db:generate` (drizzle-kit + hack/embed-migrations.ts), commit both.
// The FTS5 index over audit_entries is not expressible here; it lives in a custom migration (0001_audit_fts).
import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const RECONCILE_RESULTS = ["success", "requeue", "error", "terminal"] as const;
export type ReconcileResult = (typeof RECONCILE_RESULTS)[number];

/** One row per reconcile: what was asked (generation), what was done (actions), how long, how it ended. */
export const reconcileHistory = sqliteTable(
  "reconcile_history",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** Controller kind, e.g. "CAS", "LAS", "SGXPlugin". */
    kind: text("kind").notNull(),
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    generation: integer("generation").notNull(),
    resourceVersion: text("resource_version"),
    startedAt: integer("started_at").notNull(),
    durationMs: integer("duration_ms").notNull(),
    result: text("result", { enum: RECONCILE_RESULTS }).notNull(),
    /** What was done, in order, e.g. "apply StatefulSet ns/name". */
    actions: text("actions", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    error: text("error"),
    /** Why the reconcile ran, e.g. "watch", "requeue", "resync", "cli". */
    trigger: text("trigger").notNull(),
  },
  (t) => [
    // Ascending on purpose: read backwards, the index yields (started_at desc, id desc) — newest first with the
    // id tie-breaker — without a sort step; a DESC column would need a temp b-tree for the tie-breaker.
    index("reconcile_history_object_idx").on(t.kind, t.namespace, t.name, t.startedAt),
    index("reconcile_history_started_at_idx").on(t.startedAt),
  ],
);

export const BACKUP_PHASES = ["pending", "running", "completed", "failed"] as const;
export type BackupPhase = (typeof BACKUP_PHASES)[number];
export const BACKUP_METHODS = ["snapshot-copy"] as const;
export type BackupMethod = (typeof BACKUP_METHODS)[number];
/** Files of a backup set: file name → content hash and size, so a restore can verify every byte. */
export type BackupFiles = Record<string, { sha256: string; size: number }>;

/** Catalog of CAS backups (CloudNativePG-style: phase, method, markers, target, error). */
export const backupCatalog = sqliteTable(
  "backup_catalog",
  {
    /** e.g. "bk-20261123T103700Z-k3f9"; sortable by time. */
    id: text("id").primaryKey(),
    namespace: text("namespace").notNull(),
    /** Name of the CAS that was backed up. */
    name: text("name").notNull(),
    phase: text("phase", { enum: BACKUP_PHASES }).notNull(),
    method: text("method", { enum: BACKUP_METHODS }).notNull(),
    /** Directory path or s3:// URL the backup set was written to. */
    target: text("target").notNull(),
    startedAt: integer("started_at").notNull(),
    stoppedAt: integer("stopped_at"),
    sizeBytes: integer("size_bytes"),
    files: text("files", { mode: "json" }).$type<BackupFiles>().notNull().default(sql`'{}'`),
    /** Timestamp/id of the CAS database snapshot the copy was taken from. */
    snapshotMarker: text("snapshot_marker"),
    error: text("error"),
  },
  (t) => [index("backup_catalog_cas_idx").on(t.namespace, t.name, t.startedAt)],
);

/** Index of CAS audit-log entries; full-text search goes through the audit_entries_fts virtual table. */
export const auditEntries = sqliteTable(
  "audit_entries",
  {
    /** rowid alias (no AUTOINCREMENT: cheaper inserts); the FTS5 external-content index refers to it. */
    id: integer("id").primaryKey(),
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    /**
     * Which audit log the entry belongs to: the signature of the log's first entry (or of its first indexed entry).
     * A new CAS pod starts a new log at seq 0, so seq alone does not name an entry.
     */
    log: text("log").notNull().default(""),
    /** Sequence number of the entry in its audit log. */
    seq: integer("seq").notNull(),
    ts: integer("ts").notNull(),
    event: text("event").notNull(),
    session: text("session"),
    service: text("service"),
    /** The full log line as read from CAS. */
    raw: text("raw").notNull(),
    signature: text("signature").notNull(),
    prevSignature: text("prev_signature").notNull(),
    /** Whether prev_signature matched the previous entry's signature when ingested. */
    chainOk: integer("chain_ok", { mode: "boolean" }).notNull(),
  },
  (t) => [
    // seq before log: the same index answers "which entries has this CAS at seq N" (predecessor lookups).
    uniqueIndex("audit_entries_cas_seq_log_uq").on(t.namespace, t.name, t.seq, t.log),
    // Listing is newest first by (ts, seq); with these, a time window or an event filter is one backward range
    // scan that stops after a page, however old the window is.
    index("audit_entries_cas_time_idx").on(t.namespace, t.name, t.ts, t.seq),
    index("audit_entries_cas_event_time_idx").on(t.namespace, t.name, t.event, t.ts, t.seq),
  ],
);

/**
 * How far audit_entries_fts has caught up with audit_entries (one row, id 1): entries with id > indexed_through are
 * not in the full-text index yet. Ingest leaves text indexing to indexAuditText (run by every text search before it
 * searches, and at the end of an audit pull), which indexes them in one statement: per-row FTS5 inserts made ingest
 * ≈8× slower. Maintained by src/store/audit.ts and the FTS triggers of migration 0005.
 */
export const auditTextIndex = sqliteTable("audit_text_index", {
  id: integer("id").primaryKey(),
  indexedThrough: integer("indexed_through").notNull(),
});

export const TOKEN_SCOPES = ["read", "operate", "admin"] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** API bearer tokens. Only the sha256 of a token is stored, never the token. */
export const apiTokens = sqliteTable("api_tokens", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  scope: text("scope", { enum: TOKEN_SCOPES }).notNull(),
  /** Hex sha256 of the clear token. */
  tokenHash: text("token_hash").notNull().unique(),
  /** First characters of the clear token, for display ("scone_ab12…"). */
  prefix: text("prefix").notNull(),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at"),
  revokedAt: integer("revoked_at"),
  lastUsedAt: integer("last_used_at"),
  /** Namespaces the token may act in; null = every namespace (and the cluster-scoped kinds). */
  namespaces: text("namespaces", { mode: "json" }).$type<string[]>(),
});

export const OPERATION_KINDS = ["provision", "upgrade", "backup", "restore", "evict"] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];
export const OPERATION_PHASES = ["pending", "running", "succeeded", "failed"] as const;
export type OperationPhase = (typeof OPERATION_PHASES)[number];
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Long-running operations of the API/CLI, resumable step by step. */
export const operations = sqliteTable(
  "operations",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: OPERATION_KINDS }).notNull(),
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    /** Parameters of the request, secrets excluded. */
    params: text("params", { mode: "json" }).$type<JsonObject>().notNull().default(sql`'{}'`),
    phase: text("phase", { enum: OPERATION_PHASES }).notNull(),
    /** Step started but not yet recorded as done; on restart it is re-checked, not blindly repeated. */
    currentStep: text("current_step"),
    stepsDone: text("steps_done", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    /** Bumped on every write; writers pass the version they read (optimistic concurrency). */
    version: integer("version").notNull().default(0),
    /** Token name or "cli". */
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    error: text("error"),
    result: text("result", { mode: "json" }).$type<JsonObject>(),
  },
  (t) => [
    index("operations_phase_idx").on(t.phase),
    index("operations_target_idx").on(t.namespace, t.name, t.createdAt),
  ],
);

/** Mutating API calls, recorded with the calling token's name. */
export const apiAudit = sqliteTable(
  "api_audit",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull(),
    tokenName: text("token_name").notNull(),
    method: text("method").notNull(),
    path: text("path").notNull(),
    status: integer("status").notNull(),
    operationId: text("operation_id"),
  },
  (t) => [index("api_audit_at_idx").on(t.at)],
);
