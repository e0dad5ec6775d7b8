// The REST API's Hono application: typed routes whose OpenAPI 3.1 document is generated from the same
// definitions that validate requests (one validation layer), and RFC 9457 problem details for every error.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { SCONE_COMMIT, SCONE_VERSION } from "../version.ts";
import { problem, problemResponse } from "./problem.ts";
import { renderReferencePage } from "./reference-page.ts";

export interface ApiReadiness {
  /** Named checks; the API is ready when every one passes. */
  readonly checks: () => Record<string, { ok: boolean; reason?: string }>;
}

export interface ApiDeps {
  readonly readiness: ApiReadiness;
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

const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

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

export function createApiApp(deps: ApiDeps): OpenAPIHono {
  const app = new OpenAPIHono({
    // Validation failures become 400 problem details naming each field path.
    defaultHook: (result) => {
      if (!result.success) {
        const errors = result.error.issues.map((i) => ({ field: i.path.join("."), message: i.message }));
        return problemResponse(problem(400, "Invalid request", "the request does not match the schema", errors));
      }
    },
  });
  app.openAPIRegistry.register("Problem", ProblemSchema);

  app.openapi(healthzRoute, (c) => c.text("ok\n", 200));
  app.openapi(readyzRoute, (c) => {
    const checks = deps.readiness.checks();
    const ready = Object.values(checks).every((r) => r.ok);
    return c.json({ ready, checks }, ready ? 200 : 503);
  });
  app.openapi(versionRoute, (c) =>
    c.json({ version: SCONE_VERSION, commit: SCONE_COMMIT, runtime: `bun ${Bun.version}` }, 200),
  );

  const openapiConfig = {
    openapi: "3.1.0",
    info: {
      title: "scone API",
      version: SCONE_VERSION,
      description: "Automation over the operations of scone: the same reconcilers the operator and the CLI run.",
    },
  };
  app.doc31("/openapi.json", openapiConfig);
  app.get("/reference", (c) => c.html(renderReferencePage(app.getOpenAPI31Document(openapiConfig))));

  app.notFound((c) => problemResponse(problem(404, "Not found", `no route for ${c.req.method} ${c.req.path}`)));
  // Never leak stack traces: the client gets a generic problem, the log gets the error.
  app.onError((err) => {
    console.error(JSON.stringify({ level: "error", msg: "api handler failed", error: err.message }));
    return problemResponse(problem(500, "Internal error", "the request failed; see the server log"));
  });
  return app;
}
