// Records every mutating call of an authenticated caller (including refused ones, e.g. 403) in api_audit with the
// token's NAME; the token itself never reaches this table. Runs after authentication, before scope checks.
import type { MiddlewareHandler } from "hono";
import type { ApiEnv } from "../env.ts";

export interface ApiCall {
  at: number;
  tokenName: string;
  method: string;
  path: string;
  status: number;
  operationId: string | null;
}

export type ApiCallRecorder = (call: ApiCall) => void;

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function auditCalls(record: ApiCallRecorder, now: () => number = Date.now): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (!MUTATING.has(c.req.method)) return next();
    const at = now();
    // Hono turns a thrown error into the onError response before control returns here, so c.res is final.
    await next();
    record({
      at,
      tokenName: c.get("caller").name,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      operationId: c.get("operationId") ?? null,
    });
  };
}
