// The Hono environment every route of the API shares, and the router factory that gives each route module the
// same validation behaviour: a request that does not match its schema is a 400 problem naming each field path.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Caller } from "./access.ts";
import { problem, problemResponse } from "./problem.ts";

export interface ApiVariables {
  /** Correlates a response, its log lines and the client's report (X-Request-Id). */
  requestId: string;
  /** The caller: a token row (never its clear value or hash) or a Kubernetes user; set by authentication. */
  caller: Caller;
  /** Set by handlers that create an operation, so the call audit links to it. */
  operationId: string;
}

export interface ApiEnv {
  Variables: ApiVariables;
}

export function newRouter(): OpenAPIHono<ApiEnv> {
  return new OpenAPIHono<ApiEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        // "query.limit", "param.kind", "json.params.to": where the bad value was, then its path inside.
        const where = result.target === "json" ? "body" : result.target;
        const errors = result.error.issues.map((i) => ({
          field: [where, ...i.path.map(String)].join("."),
          message: i.message,
        }));
        return problemResponse(problem(400, "Invalid request", "the request does not match the schema", errors));
      }
    },
  });
}
