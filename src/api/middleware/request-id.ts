// Gives every request an id, echoed in X-Request-Id and used in log lines. A client's own id is kept when it is
// short and plain (so it cannot inject into logs); otherwise a fresh one is made.
import type { MiddlewareHandler } from "hono";
import type { ApiEnv } from "../env.ts";

export const REQUEST_ID_HEADER = "X-Request-Id";
const PLAIN_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestId(): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const given = c.req.header(REQUEST_ID_HEADER);
    const id = given !== undefined && PLAIN_ID.test(given) ? given : crypto.randomUUID();
    c.set("requestId", id);
    await next();
    c.res.headers.set(REQUEST_ID_HEADER, id);
  };
}
