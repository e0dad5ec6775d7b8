// Bearer-token authentication (RFC 6750). The token is looked up by its hash in the store; an unknown, expired
// or revoked token is refused alike with 401, so the answer does not tell a guesser which one it hit.
import type { MiddlewareHandler } from "hono";
import type { TokenInfo } from "../../store/tokens.ts";
import type { ApiEnv } from "../env.ts";
import { problem, problemResponse } from "../problem.ts";

/** Returns the token's info when it is valid now, else null. The store's verifyToken in production. */
export type TokenVerifier = (clearToken: string) => TokenInfo | null;

const REALM = 'Bearer realm="scone"';
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

export function authenticate(verify: TokenVerifier): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (header === undefined) {
      return problemResponse(
        problem(401, "Unauthorized", "send an API token: Authorization: Bearer <token> (see `scone api token create`)"),
        { "WWW-Authenticate": REALM },
      );
    }
    const match = BEARER.exec(header);
    const caller = match?.[1] === undefined ? null : verify(match[1]);
    if (caller === null) {
      return problemResponse(problem(401, "Unauthorized", "the bearer token is unknown, expired or revoked"), {
        "WWW-Authenticate": `${REALM}, error="invalid_token"`,
      });
    }
    c.set("caller", caller);
    await next();
  };
}
