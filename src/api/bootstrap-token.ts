// The first admin token of a fresh install. `scone api --bootstrap-token-file FILE` writes one (mode 0600) only
// when the store holds no token at all, so restarts and installs that already have tokens never mint another.
// The token has no expiry: it is how an operator reaches the API the first time. Create named tokens with it,
// then revoke it (DELETE /api/v1/tokens/bootstrap-admin or `scone api token revoke bootstrap-admin`).
import { writePrivateFileSync } from "../runtime/private-file.ts";
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
    writePrivateFileSync(file, `${token}\n`);
    return { written: true };
  })();
}
