import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { StoreConflictError, StoreInputError } from "../../../src/store/errors.ts";
import {
  createToken,
  hashToken,
  listTokens,
  revokeToken,
  TOKEN_RECHECK_MS,
  type TokenInfo,
  verifyToken,
} from "../../../src/store/tokens.ts";
import { cleanupTempStores, tempDir, tempStore } from "./temp-store.ts";

afterEach(cleanupTempStores);

/** Every byte SQLite wrote for this store: the main file plus WAL/SHM while open. */
function storeBytes(dbPath: string): string {
  const dir = dirname(dbPath);
  return readdirSync(dir)
    .map((f) => readFileSync(join(dir, f)).toString("latin1"))
    .join("\n");
}

describe("api tokens", () => {
  test("the clear token is returned once and never written; only its sha256 is", () => {
    const store = tempStore();
    const { token, info } = createToken(store.db, { name: "ci", scope: "operate", now: 1000 });
    expect(token).toMatch(/^scone_[a-z2-7]{32}$/);
    expect(info.prefix).toBe(token.slice(0, 10));
    expect(info).not.toHaveProperty("tokenHash");
    const secretPart = token.slice("scone_".length);
    // While open (rows may still sit in the WAL) and after close (checkpointed into scone.db).
    for (const phase of ["open", "closed"]) {
      if (phase === "closed") store.close();
      const bytes = storeBytes(store.path);
      expect(bytes).toContain(hashToken(token)); // proves the byte search sees what is stored
      expect(bytes).not.toContain(secretPart);
    }
  });

  test("verifyToken accepts the token and rejects unknown, revoked and expired ones", () => {
    const store = tempStore();
    const now = 1_000_000;
    const live = createToken(store.db, { name: "live", scope: "read", now });
    const expiring = createToken(store.db, { name: "expiring", scope: "admin", expiresAt: now + 500, now });
    const revoked = createToken(store.db, { name: "revoked", scope: "operate", now });

    expect(verifyToken(store.db, live.token, now + 1)?.name).toBe("live");
    const tampered = `${live.token.slice(0, -1)}${live.token.endsWith("a") ? "b" : "a"}`;
    expect(verifyToken(store.db, tampered, now)).toBeNull();
    expect(verifyToken(store.db, "not-even-a-token", now)).toBeNull();

    expect(verifyToken(store.db, expiring.token, now + 499)?.scope).toBe("admin");
    expect(verifyToken(store.db, expiring.token, now + 500)).toBeNull();

    expect(verifyToken(store.db, revoked.token, now)?.name).toBe("revoked");
    expect(revokeToken(store.db, "revoked", now + 10)?.revokedAt).toBe(now + 10);
    expect(verifyToken(store.db, revoked.token, now + 11)).toBeNull();
    // Revoking again keeps the first revocation time; unknown names give null.
    expect(revokeToken(store.db, "revoked", now + 99)?.revokedAt).toBe(now + 10);
    expect(revokeToken(store.db, "nobody", now)).toBeNull();
  });

  test("a token revoked by another process stops working within TOKEN_RECHECK_MS; expiry is exact", () => {
    // Two connections to one state dir: the API's, and the CLI's `scone api token revoke` in another process.
    const dir = join(tempDir(), "state");
    const api = tempStore(dir);
    const cli = tempStore(dir);
    const now = 1_000_000;
    const { token } = createToken(api.db, { name: "shared", scope: "read", now });
    expect(verifyToken(api.db, token, now)?.name).toBe("shared");
    expect(revokeToken(cli.db, "shared", now + 1)?.revokedAt).toBe(now + 1);
    expect(verifyToken(api.db, token, now + TOKEN_RECHECK_MS)).toBeNull();
    expect(verifyToken(api.db, token, now + 10 * TOKEN_RECHECK_MS)).toBeNull();

    // Expiry is checked on every call, also while the token's row is remembered.
    const short = createToken(api.db, { name: "short", scope: "read", expiresAt: now + 10, now });
    expect(verifyToken(api.db, short.token, now + 9)?.name).toBe("short");
    expect(verifyToken(api.db, short.token, now + 10)).toBeNull();
  });

  test("the remembered token cannot be changed by a caller", () => {
    const store = tempStore();
    const { token } = createToken(store.db, { name: "ns", scope: "read", namespaces: ["prod"], now: 0 });
    const first = verifyToken(store.db, token, 1) as TokenInfo;
    expect(() => {
      (first as { scope: string }).scope = "admin";
    }).toThrow();
    expect(() => (first.namespaces as string[]).push("kube-system")).toThrow();
    expect(verifyToken(store.db, token, 2)).toMatchObject({ scope: "read", namespaces: ["prod"] });
  });

  test("verifyToken records last use, at most once a minute", () => {
    const store = tempStore();
    const { token } = createToken(store.db, { name: "t", scope: "read", now: 0 });
    verifyToken(store.db, token, 10_000);
    verifyToken(store.db, token, 20_000);
    expect(listTokens(store.db)[0]?.lastUsedAt).toBe(10_000);
    verifyToken(store.db, token, 70_000);
    expect(listTokens(store.db)[0]?.lastUsedAt).toBe(70_000);
  });

  test("names are unique and validated; scope must be known", () => {
    const store = tempStore();
    createToken(store.db, { name: "ops", scope: "admin" });
    expect(() => createToken(store.db, { name: "ops", scope: "read" })).toThrow(StoreConflictError);
    expect(() => createToken(store.db, { name: "Bad Name", scope: "read" })).toThrow(StoreInputError);
    // @ts-expect-error: a scope from untyped input (CLI flag, JSON body)
    expect(() => createToken(store.db, { name: "x", scope: "root" })).toThrow(/scope "root" is invalid/);
    expect(() => createToken(store.db, { name: "y", scope: "read", expiresAt: 5, now: 10 })).toThrow(/future/);
    expect(listTokens(store.db).map((t) => t.name)).toEqual(["ops"]);
  });
});
