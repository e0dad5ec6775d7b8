// The simulator's persistent state, in the two files a real CAS keeps in its database directory:
//   cas.key-store — the CAS's keys (real CAS: the DB key sealed with the SGX seal key; here: plain JSON, mode 0600,
//                   because there is no enclave to seal to), and
//   cas.db        — the database (real CAS: encrypted SQLite; here: JSON encrypted with AES-256-GCM under the
//                   key-store's db_key, so a snapshot needs BOTH files to be of any use, as with the real CAS).
// Writes are synchronous and atomic (temp file + rename): a snapshot taken between two event-loop turns always sees
// a matching pair.

import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SessionSignature } from "./session-doc.ts";

export const DB_FILE = "cas.db";
export const KEY_STORE_FILE = "cas.key-store";
/** Where the recovery flow (`restart-cas`) places a snapshot to restore (SCONE-INTERFACE §3.3). */
export const RECOVERY_DB_FILE = "last-snapshot-db";
export const RECOVERY_KEY_STORE_FILE = "last-snapshot-cas.key-store";

export interface KeyStore {
  readonly format: "scone-cas-sim-key-store/1";
  /** AES-256 key of cas.db, hex. */
  readonly db_key: string;
  /** Ed25519 seeds, hex. */
  readonly cas_key_seed: string;
  readonly software_key_seed: string;
  readonly audit_key_seed: string;
  /** X25519 private key, hex. */
  readonly session_encryption_private_key: string;
  readonly tls: {
    readonly ca_cert: string;
    readonly ca_key: string;
    readonly server_cert: string;
    readonly server_key: string;
  };
}

export interface StoredVersion {
  readonly hash: string;
  readonly text: string;
  readonly signatures: readonly SessionSignature[];
  readonly predecessor: string | null;
  readonly created_at: string;
}

export interface StoredSecret {
  readonly kind: string;
  readonly value: string;
}

export interface StoredSession {
  readonly name: string;
  /** Principals that created the session: what CREATOR means in its access policies. */
  readonly creator: readonly string[];
  readonly current: string;
  readonly versions: readonly StoredVersion[];
  readonly secrets: Readonly<Record<string, StoredSecret>>;
}

export interface CasDb {
  readonly format: "scone-cas-sim-db/1";
  /** 32 hex while unprovisioned; null once provisioned. */
  readonly provisioning_token: string | null;
  readonly owner: { readonly key_hash: string; readonly config: string; readonly provisioned_at: string } | null;
  readonly sessions: Readonly<Record<string, StoredSession>>;
  readonly backups: readonly { readonly address: string; readonly registered_at: string }[];
}

export function emptyDb(): CasDb {
  return {
    format: "scone-cas-sim-db/1",
    provisioning_token: randomBytes(16).toString("hex"),
    owner: null,
    sessions: {},
    backups: [],
  };
}

function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  renameSync(tmp, path);
}

export function encryptDb(db: CasDb, dbKeyHex: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", Buffer.from(dbKeyHex, "hex"), iv);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(db), "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `${JSON.stringify({ format: "scone-cas-sim-db-encrypted/1", iv: iv.toString("hex"), data: ciphertext.toString("base64") })}\n`;
}

export function decryptDb(text: string, dbKeyHex: string): CasDb {
  const outer = JSON.parse(text) as { format?: string; iv?: string; data?: string };
  if (outer.format !== "scone-cas-sim-db-encrypted/1" || !outer.iv || !outer.data) {
    throw new Error(`${DB_FILE}: not a simulator database`);
  }
  const raw = Buffer.from(outer.data, "base64");
  const decipher = createDecipheriv("aes-256-gcm", Buffer.from(dbKeyHex, "hex"), Buffer.from(outer.iv, "hex"));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  let plain: string;
  try {
    plain = Buffer.concat([decipher.update(raw.subarray(0, raw.length - 16)), decipher.final()]).toString("utf8");
  } catch {
    throw new Error(
      `${DB_FILE}: cannot be decrypted with this ${KEY_STORE_FILE} (files from different CAS instances?)`,
    );
  }
  const db = JSON.parse(plain) as CasDb;
  if (db.format !== "scone-cas-sim-db/1") throw new Error(`${DB_FILE}: unknown format`);
  return db;
}

/** The two files of a data directory, with the recovery hand-off applied first. */
export class DataDir {
  readonly dbPath: string;
  readonly keyStorePath: string;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.dbPath = join(dir, DB_FILE);
    this.keyStorePath = join(dir, KEY_STORE_FILE);
  }

  /** Moves a snapshot placed for recovery into place; true when one was restored. */
  applyRecovery(): boolean {
    const db = join(this.dir, RECOVERY_DB_FILE);
    const keys = join(this.dir, RECOVERY_KEY_STORE_FILE);
    if (!existsSync(db) || !existsSync(keys)) return false;
    renameSync(keys, this.keyStorePath);
    renameSync(db, this.dbPath);
    return true;
  }

  readKeyStore(): KeyStore | undefined {
    if (!existsSync(this.keyStorePath)) return undefined;
    const store = JSON.parse(readFileSync(this.keyStorePath, "utf8")) as KeyStore;
    if (store.format !== "scone-cas-sim-key-store/1") throw new Error(`${KEY_STORE_FILE}: unknown format`);
    return store;
  }

  writeKeyStore(store: KeyStore): void {
    writeAtomic(this.keyStorePath, `${JSON.stringify(store, null, 2)}\n`);
  }

  readDb(dbKeyHex: string): CasDb | undefined {
    if (!existsSync(this.dbPath)) return undefined;
    return decryptDb(readFileSync(this.dbPath, "utf8"), dbKeyHex);
  }

  writeDb(db: CasDb, dbKeyHex: string): void {
    writeAtomic(this.dbPath, encryptDb(db, dbKeyHex));
  }
}
