// The REST API's Hono application: typed routes whose OpenAPI 3.1 document is generated from the same
// definitions that validate requests (one validation layer), and RFC 9457 problem details for every error.
//
// Unauthenticated on purpose: /healthz and /readyz (probes), /version, /openapi.json and /reference (they
// describe the interface and hold no data; tooling and people need them before they have a token). Everything
// under /api/v1 needs a bearer token.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Logger } from "../log.ts";
import { SCONE_COMMIT, SCONE_VERSION } from "../version.ts";
import { type ApiEnv, newRouter } from "./env.ts";
import { toProblem } from "./errors.ts";
import { accessLog } from "./middleware/access-log.ts";
import { DEFAULT_BODY_LIMIT_BYTES, limitBody } from "./middleware/body-limit.ts";
import { requestId } from "./middleware/request-id.ts";
import { problem, problemResponse } from "./problem.ts";
import { renderReferencePage } from "./reference-page.ts";
import { ProblemSchema } from "./schemas.ts";
import { type ApiV1Deps, mountV1 } from "./v1/index.ts";

export interface ApiReadiness {
  /** Named checks; the API is ready when every one passes. */
  readonly checks: () => Record<string, { ok: boolean; reason?: string }>;
}

export interface ApiDeps {
  readonly readiness: ApiReadiness;
  /** The versioned API; without it only health, version and the document are served. */
  readonly v1?: ApiV1Deps;
  readonly bodyLimitBytes?: number;
  /**
   * Unexpected handler errors go to error (message only, never a stack), one line per request to debug.
   * Default: errors as JSON on stderr, no request lines.
   */
  readonly log?: Pick<Logger, "error" | "debug" | "isEnabled">;
}

const VersionSchema = z
  .object({ version: z.string(), commit: z.string(), runtime: z.string() })
  .openapi("Version", { example: { version: "0.1.0", commit: "abc1234", runtime: "bun 1.4.4" } });

const ReadinessSchema = z
  .object({
    ready: z.boolean(),
    checks: z.record(z.string(), z.object({ ok: z.boolean(), reason: z.string().optional() })),
  })
  .openapi("Readiness");

const healthzRoute = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["health"],
  summary: "Liveness: the process serves requests",
  responses: { 200: { description: "alive", content: { "text/plain": { schema: z.string() } } } },
});

const readyzRoute = createRoute({
  method: "get",
  path: "/readyz",
  tags: ["health"],
  summary: "Readiness: the store is open and every dependency is ready",
  responses: {
    200: { description: "ready", content: { "application/json": { schema: ReadinessSchema } } },
    503: { description: "not ready", content: { "application/json": { schema: ReadinessSchema } } },
  },
});

const versionRoute = createRoute({
  method: "get",
  path: "/version",
  tags: ["meta"],
  summary: "Version of the scone binary serving the API",
  responses: { 200: { description: "version", content: { "application/json": { schema: VersionSchema } } } },
});

const stderrLog: Pick<Logger, "error" | "debug" | "isEnabled"> = {
  error: (msg, fields) => console.error(JSON.stringify({ level: "error", component: "api", msg, ...fields })),
  debug: () => {},
  isEnabled: (level) => level === "error",
};

export function createApiApp(deps: ApiDeps): OpenAPIHono<ApiEnv> {
  const log = deps.log ?? stderrLog;
  const app = newRouter();
  app.openAPIRegistry.register("Problem", ProblemSchema);
  app.use("*", requestId());
  app.use("*", accessLog(log));
  app.use("*", limitBody(deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES));

  app.openapi(healthzRoute, (c) => c.text("ok\n", 200));
  app.openapi(readyzRoute, (c) => {
    const checks = deps.readiness.checks();
    const ready = Object.values(checks).every((r) => r.ok);
    return c.json({ ready, checks }, ready ? 200 : 503);
  });
  app.openapi(versionRoute, (c) =>
    c.json({ version: SCONE_VERSION, commit: SCONE_COMMIT, runtime: `bun ${Bun.version}` }, 200),
  );

  if (deps.v1) mountV1(app, deps.v1);

  const openapiConfig = {
    openapi: "3.1.0",
    info: {
      title: "scone API",
      version: SCONE_VERSION,
      description:
        "Automation over the operations of scone: the same reconcilers the operator and the CLI run. " +
        "Errors are RFC 9457 problem details (application/problem+json).",
    },
  };
  // Built once, on the first request (every route is registered by then): generating the document walks every
  // schema, far too much work to repeat per request on unauthenticated routes.
  let documents: { json: string; html: string } | undefined;
  const built = () => {
    if (!documents) {
      const doc = app.getOpenAPI31Document(openapiConfig);
      documents = { json: JSON.stringify(doc), html: renderReferencePage(doc) };
    }
    return documents;
  };
  app.get("/openapi.json", (c) => c.body(built().json, 200, { "content-type": "application/json" }));
  app.get("/reference", (c) => c.html(built().html));

  app.notFound((c) => problemResponse(problem(404, "Not found", `no route for ${c.req.method} ${c.req.path}`)));
  // Never leak stack traces: the client gets the problem, the log gets the message of unexpected errors.
  app.onError((err, c) => {
    const mapped = toProblem(err);
    if (!mapped.expected) {
      log.error("api handler failed", {
        requestId: c.get("requestId"),
        method: c.req.method,
        path: c.req.path,
        error: err.message,
      });
    }
    return problemResponse(mapped.problem, mapped.headers);
  });
  return app;
}
