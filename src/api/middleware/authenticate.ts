// Bearer-token authentication (RFC 6750). With the token table (a laptop, an air-gapped host) the token is looked
// up by its hash in the store; with --kube-auth the Kubernetes API server reviews it (TokenReview). An unknown,
// expired or revoked token is refused alike with 401, so the answer does not tell a guesser which one it hit.
import type { MiddlewareHandler } from "hono";
import type { AccessReviewer } from "../../kube/access-review.ts";
import type { TokenInfo } from "../../store/tokens.ts";
import { type Caller, kubeCaller } from "../access.ts";
import type { ApiEnv } from "../env.ts";
import { problem, problemResponse } from "../problem.ts";

/** Returns the token's info when it is valid now, else null. The store's verifyToken in production. */
export type TokenVerifier = (clearToken: string) => TokenInfo | null;

/** Who presents this bearer token, or null when nobody does. */
export type CallerIdentifier = (clearToken: string) => Caller | null | Promise<Caller | null>;

const REALM = 'Bearer realm="scone"';
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/** Kubernetes bearer tokens: TokenReview (cached by token hash), then a caller whose rights are asked per request. */
export function kubeIdentifier(reviewer: AccessReviewer): CallerIdentifier {
  return async (token) => {
    const user = await reviewer.authenticate(token);
    return user === null ? null : kubeCaller(reviewer, token, user);
  };
}

export function authenticate(
  identify: CallerIdentifier,
  hint = "see `scone api token create`",
): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (header === undefined) {
      return problemResponse(
        problem(401, "Unauthorized", `send a bearer token: Authorization: Bearer <token> (${hint})`),
        {
          "WWW-Authenticate": REALM,
        },
      );
    }
    const match = BEARER.exec(header);
    const caller = match?.[1] === undefined ? null : await identify(match[1]);
    if (caller === null) {
      return problemResponse(problem(401, "Unauthorized", "the bearer token is unknown, expired or revoked"), {
        "WWW-Authenticate": `${REALM}, error="invalid_token"`,
      });
    }
    c.set("caller", caller);
    await next();
  };
}
