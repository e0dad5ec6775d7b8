// Scope enforcement: read < operate < admin; a token may call routes of its own scope and every smaller one.
import type { MiddlewareHandler } from "hono";
import type { TokenScope } from "../../store/schema.ts";
import type { ApiEnv } from "../env.ts";
import { problem, problemResponse } from "../problem.ts";

const RANK: Record<TokenScope, number> = { read: 0, operate: 1, admin: 2 };

export function scopeAllows(have: TokenScope, need: TokenScope): boolean {
  return RANK[have] >= RANK[need];
}

export function requireScope(need: TokenScope): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const caller = c.get("caller");
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
