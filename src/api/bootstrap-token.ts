// The first admin token of a fresh install. `scone api --bootstrap-token-file FILE` writes one (mode 0600) only
// when the store holds no token at all, so restarts and installs that already have tokens never mint another.
// The token has no expiry: it is how an operator reaches the API the first time. Create named tokens with it,
// then revoke it (DELETE /api/v1/tokens/bootstrap-admin or `scone api token revoke bootstrap-admin`).
import { chmodSync, closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import type { StoreDb } from "../store/open.ts";
import { createToken, listTokens } from "../store/tokens.ts";

export const BOOTSTRAP_TOKEN_NAME = "bootstrap-admin";

export type BootstrapResult = { written: true } | { written: false; reason: string };

export function writeBootstrapToken(db: StoreDb, file: string, now: number = Date.now()): BootstrapResult {
  // bun:sqlite's transaction on the same connection: the drizzle calls inside are part of it.
  return db.$client.transaction((): BootstrapResult => {
    if (listTokens(db).length > 0) {
      return { written: false, reason: "the store already has tokens; create more with `scone api token create`" };
    }
    const { token } = createToken(db, { name: BOOTSTRAP_TOKEN_NAME, scope: "admin", now });
    // Written inside the transaction: if the file cannot be written the token is rolled back, so there is never
    // a bootstrap token nobody holds (which would block writing another one).
    writeSecretFile(file, `${token}\n`);
    return { written: true };
  })();
}

/** Writes via a 0600 temp file and a rename, so the token is never readable by others, even for a moment. */
function writeSecretFile(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  try {
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
