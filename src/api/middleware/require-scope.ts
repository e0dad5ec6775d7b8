// Scope enforcement: read < operate < admin; a token may call routes of its own scope and every smaller one.
// A Kubernetes caller has no scope: its handler asks RBAC for the verb and namespace (access.ts). A handler that
// answers a Kubernetes caller without having asked anything is a bug, and its answer is replaced by a 500.
import type { MiddlewareHandler } from "hono";
import type { TokenScope } from "../../store/schema.ts";
import { isKubeCaller } from "../access.ts";
import type { ApiEnv } from "../env.ts";
import { problem, problemResponse } from "../problem.ts";

const RANK: Record<TokenScope, number> = { read: 0, operate: 1, admin: 2 };

export function scopeAllows(have: TokenScope, need: TokenScope): boolean {
  return RANK[have] >= RANK[need];
}

export function requireScope(need: TokenScope): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const caller = c.get("caller");
    if (isKubeCaller(caller)) {
      await next();
      if (caller.reviews === 0 && c.res.status < 400) {
        c.res = problemResponse(problem(500, "Internal error", "the route did not check the caller's rights"));
      }
      return;
    }
    if (!scopeAllows(caller.scope, need)) {
      return problemResponse(
        problem(
          403,
          "Forbidden",
          `this route needs a token with scope "${need}" (or larger); token "${caller.name}" has scope "${caller.scope}"`,
        ),
        { "WWW-Authenticate": `Bearer realm="scone", error="insufficient_scope", scope="${need}"` },
      );
    }
    await next();
  };
}
