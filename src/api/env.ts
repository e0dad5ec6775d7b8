// The Hono environment every route of the API shares, and the router factory that gives each route module the
// same validation behaviour: a request that does not match its schema is a 400 problem naming each field path.
import { type Hook, OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import type { Caller } from "./access.ts";
import { problem, problemResponse } from "./problem.ts";
import { syncValidator, type ValidationHook } from "./sync-validate.ts";

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

/** A request that does not match its schema: a 400 problem naming each field path. */
const defaultHook: ValidationHook = (result) => {
  if (!result.success && result.error) {
    // "query.limit", "param.kind", "json.params.to": where the bad value was, then its path inside.
    const where = result.target === "json" ? "body" : result.target;
    const errors = result.error.issues.map((i) => ({
      field: [where, ...i.path.map(String)].join("."),
      message: i.message,
    }));
    return problemResponse(problem(400, "Invalid request", "the request does not match the schema", errors));
  }
};

/**
 * An OpenAPIHono router whose routes check path and query with zod's synchronous parse (sync-validate.ts): the same
 * schemas, documented the same way, the same hook and answers, in the same order (query, then path, after the
 * route's own middleware, before header and body checks).
 */
export function newRouter(): OpenAPIHono<ApiEnv> {
  const router = new OpenAPIHono<ApiEnv>({ defaultHook: defaultHook as Hook<unknown, ApiEnv, string, unknown> });
  const openapi = router.openapi;
  router.openapi = ((route: RouteConfig, handler: never, hook?: ValidationHook) => {
    const { params, query, ...request } = route.request ?? {};
    if (!params && !query) return openapi(route, handler, hook as never);
    const { middleware, hide, ...documented } = route;
    if (!hide) router.openAPIRegistry.registerPath(documented);
    const check = hook ?? defaultHook;
    const own = middleware === undefined ? [] : Array.isArray(middleware) ? middleware : [middleware];
    const validators = [
      ...(query ? [syncValidator("query", query, check)] : []),
      ...(params ? [syncValidator("param", params, check)] : []),
    ];
    return openapi({ ...documented, request, hide: true, middleware: [...own, ...validators] }, handler, hook as never);
  }) as typeof openapi;
  return router;
}
