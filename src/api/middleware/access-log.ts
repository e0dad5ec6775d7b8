// One debug line per request: method, path, status, duration, request id and the caller's token name. Never
// headers or bodies (they may hold the token or secrets); the query string is left out for the same reason.
import type { MiddlewareHandler } from "hono";
import type { Logger } from "../../log.ts";
import type { ApiEnv } from "../env.ts";

export function accessLog(log: Pick<Logger, "debug" | "isEnabled">): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (!log.isEnabled("debug")) return next();
    const start = performance.now();
    await next();
    log.debug("request", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - start) * 10) / 10,
      requestId: c.get("requestId"),
      caller: c.get("caller")?.name,
    });
  };
}
