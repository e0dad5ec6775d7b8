// API tokens. The clear token is returned once by createToken and never stored: the table keeps its sha256.
import { timingSafeEqual } from "node:crypto";
import { asc, eq, sql } from "drizzle-orm";
import { StoreConflictError, StoreInputError } from "./errors.ts";
import { newId, randomBase32 } from "./ids.ts";
import type { StoreDb } from "./open.ts";
import { apiTokens, TOKEN_SCOPES, type TokenScope } from "./schema.ts";

export const TOKEN_PREFIX = "scone_";
/** Characters of the clear token kept for display: "scone_" + 4, enough to tell tokens apart in a list. */
const DISPLAY_CHARS = TOKEN_PREFIX.length + 4;
/** last_used_at is refreshed at most this often, so verifying a token is not a write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;
const NAME_PATTERN = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;

export type TokenRow = typeof apiTokens.$inferSelect;
/** What listing shows: everything but the hash. */
export type TokenInfo = Omit<TokenRow, "tokenHash">;

export function hashToken(clear: string): string {
  // Bun's one-shot SHA-256: the same digest as node:crypto's createHash, in a third of the time (every API request).
  return Bun.SHA256.hash(clear, "hex");
}

export interface CreateTokenInput {
  name: string;
  scope: TokenScope;
  expiresAt?: number | null;
  /** Limit the token to these namespaces (read and operate only); absent or empty: every namespace. */
  namespaces?: readonly string[] | null;
  now?: number;
}

const NAMESPACE_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Sorted, de-duplicated namespaces, or null for "every namespace"; throws naming the field for a bad one. */
function tokenNamespaces(input: CreateTokenInput): string[] | null {
  const given = input.namespaces ?? [];
  if (given.length === 0) return null;
  for (const ns of given) {
    if (!NAMESPACE_PATTERN.test(ns)) {
      throw new StoreInputError(
        "namespaces",
        `namespace ${JSON.stringify(ns)} is invalid: a namespace is a DNS label (lower-case letters, digits and '-', at most 63)`,
      );
    }
  }
  // An admin token creates tokens, so a namespace limit on it would be escaped by creating an unlimited one.
  if (input.scope === "admin") {
    throw new StoreInputError(
      "namespaces",
      "an admin token cannot be limited to namespaces (it manages every token); limit read or operate tokens",
    );
  }
  return [...new Set(given)].sort();
}

/** Creates a token; `token` is the only copy of the clear token, show it to the user once. */
export function createToken(db: StoreDb, input: CreateTokenInput): { token: string; info: TokenInfo } {
  const now = input.now ?? Date.now();
  if (!NAME_PATTERN.test(input.name)) {
    throw new StoreInputError(
      "name",
      `token name "${input.name}" is invalid: use 1-63 lower-case letters, digits, ".", "_" or "-", starting and ending with a letter or digit`,
    );
  }
  if (!(TOKEN_SCOPES as readonly string[]).includes(input.scope)) {
    throw new StoreInputError(
      "scope",
      `token scope "${input.scope}" is invalid: use one of ${TOKEN_SCOPES.join(", ")}`,
    );
  }
  if (input.expiresAt != null && input.expiresAt <= now) {
    throw new StoreInputError("expiresAt", "token expiry must be in the future");
  }
  const namespaces = tokenNamespaces(input);
  const existing = db.select({ id: apiTokens.id }).from(apiTokens).where(eq(apiTokens.name, input.name)).get();
  if (existing) {
    throw new StoreConflictError(
      `a token named "${input.name}" already exists; revoke it first or choose another name`,
    );
  }
  // 160 random bits: guessing is hopeless, and sha256 without salt is enough for a secret of this entropy.
  const token = `${TOKEN_PREFIX}${randomBase32(20)}`;
  const row = db
    .insert(apiTokens)
    .values({
      id: newId("tk", now),
      name: input.name,
      scope: input.scope,
      tokenHash: hashToken(token),
      prefix: token.slice(0, DISPLAY_CHARS),
      createdAt: now,
      expiresAt: input.expiresAt ?? null,
      namespaces,
    })
    .returning()
    .get();
  return { token, info: withoutHash(row) };
}

// Every API request verifies its token: a prepared statement per database (rebuilding the drizzle query cost ≈30 µs
// a call, most of an authenticated request's time).
const byHash = new WeakMap<StoreDb, ReturnType<typeof prepareLookup>>();
const prepareLookup = (db: StoreDb) =>
  db
    .select()
    .from(apiTokens)
    .where(eq(apiTokens.tokenHash, sql.placeholder("hash")))
    .prepare();
function lookupByHash(db: StoreDb): ReturnType<typeof prepareLookup> {
  let q = byHash.get(db);
  if (!q) {
    q = prepareLookup(db);
    byHash.set(db, q);
  }
  return q;
}

/**
 * How long a token's row, once read, answers for it without reading the store again (the lookup was ≈40% of an
 * API read). The bound for a revocation made by another process (`scone api token revoke`, a second API): the token
 * stops working within this time. Revoking through this process (revokeToken on the same StoreDb) is immediate;
 * expiry is checked against the clock on every call.
 */
export const TOKEN_RECHECK_MS = 1000;
/** Tokens remembered per store; beyond, the oldest is forgotten (an unknown token is never remembered). */
const MAX_REMEMBERED = 1024;

interface Remembered {
  info: TokenInfo;
  readAt: number;
}
const remembered = new WeakMap<StoreDb, Map<string, Remembered>>();
function rememberedOf(db: StoreDb): Map<string, Remembered> {
  let cache = remembered.get(db);
  if (!cache) {
    cache = new Map();
    remembered.set(db, cache);
  }
  return cache;
}

/** The row of the token with this hash, without the hash; null when there is none. */
function readToken(db: StoreDb, hash: string): TokenInfo | null {
  // Looking up by hash reveals nothing about the clear token through timing (a preimage would be needed); the
  // constant-time comparison below keeps the final decision free of early-exit string compares as well.
  const row = lookupByHash(db).get({ hash });
  if (!row) return null;
  const stored = Buffer.from(row.tokenHash, "hex");
  const given = Buffer.from(hash, "hex");
  if (stored.length !== given.length || !timingSafeEqual(stored, given)) return null;
  return frozen(withoutHash(row));
}

/** Callers share the remembered object: frozen, so none can change what the next request sees. */
function frozen(info: TokenInfo): TokenInfo {
  if (info.namespaces) Object.freeze(info.namespaces);
  return Object.freeze(info);
}

/** The token's row if the token exists, is not revoked and not expired; else null. Refreshes last_used_at. */
export function verifyToken(db: StoreDb, clear: string, now: number = Date.now()): TokenInfo | null {
  if (!clear.startsWith(TOKEN_PREFIX)) return null;
  const hash = hashToken(clear);
  const cache = rememberedOf(db);
  let entry = cache.get(hash);
  // A clock that went back (now < readAt) reads again rather than trusting an entry from "the future".
  if (entry === undefined || now < entry.readAt || now - entry.readAt >= TOKEN_RECHECK_MS) {
    cache.delete(hash);
    const info = readToken(db, hash);
    if (info === null) return null;
    entry = { info, readAt: now };
    if (cache.size >= MAX_REMEMBERED) cache.delete(cache.keys().next().value as string);
    cache.set(hash, entry);
  }
  const { info } = entry;
  if (info.revokedAt !== null && info.revokedAt <= now) return null;
  if (info.expiresAt !== null && info.expiresAt <= now) return null;
  if (info.lastUsedAt === null || now - info.lastUsedAt >= LAST_USED_RESOLUTION_MS) {
    db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, info.id)).run();
    entry.info = frozen({ ...info, lastUsedAt: now });
  }
  return entry.info;
}

export function listTokens(db: StoreDb): TokenInfo[] {
  return db.select().from(apiTokens).orderBy(asc(apiTokens.name)).all().map(withoutHash);
}

/** Revokes by name; returns the revoked token, or null when no such token exists. Revoking twice keeps the first time. */
export function revokeToken(db: StoreDb, name: string, now: number = Date.now()): TokenInfo | null {
  const row = db.select().from(apiTokens).where(eq(apiTokens.name, name)).get();
  if (!row) return null;
  if (row.revokedAt !== null) return withoutHash(row);
  const updated = db.update(apiTokens).set({ revokedAt: now }).where(eq(apiTokens.id, row.id)).returning().get();
  // This process stops accepting the token at once; other processes within TOKEN_RECHECK_MS.
  rememberedOf(db).delete(row.tokenHash);
  return updated ? withoutHash(updated) : null;
}

function withoutHash(row: TokenRow): TokenInfo {
  const { tokenHash: _hash, ...info } = row;
  return info;
}
