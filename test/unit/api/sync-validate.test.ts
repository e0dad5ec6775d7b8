// Path and query checks with zod's synchronous parse (newRouter, sync-validate.ts) answer exactly as
// @hono/zod-openapi's own validator does: the same status, body and validated values, for good and bad input.
import { describe, expect, test } from "bun:test";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { type ApiEnv, newRouter } from "../../../src/api/env.ts";

const route = createRoute({
  method: "get",
  path: "/things/{kind}/{name}",
  request: {
    params: z.object({ kind: z.enum(["cas", "las"]), name: z.string().regex(/^[a-z0-9-]+$/, "lower-case name") }),
    query: z.object({ limit: z.coerce.number().int().min(1).max(10).optional(), tag: z.string().optional() }),
  },
  responses: { 200: { description: "the values" } },
});

function apps() {
  const fast = newRouter();
  fast.openapi(route, (c) => c.json({ param: c.req.valid("param"), query: c.req.valid("query") }, 200));
  // zod-openapi's zValidator with the same hook: newRouter's hook, reached through a router it does not build.
  const hook = (newRouter() as unknown as { defaultHook: never }).defaultHook;
  const reference = new OpenAPIHono<ApiEnv>({ defaultHook: hook });
  reference.openapi(route, (c) => c.json({ param: c.req.valid("param"), query: c.req.valid("query") }, 200));
  return { fast, reference };
}

async function answer(app: OpenAPIHono<ApiEnv>, path: string) {
  const res = await app.request(path);
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    body: (await res.json()) as { errors?: { field: string; message: string }[] },
  };
}

describe("synchronous path and query validation", () => {
  const { fast, reference } = apps();
  for (const path of [
    "/things/cas/prod-1",
    "/things/cas/prod-1?limit=3&tag=a",
    "/things/vault/prod-1",
    "/things/cas/Prod_1",
    "/things/cas/prod-1?limit=99",
    "/things/cas/prod-1?tag=a&tag=b",
    "/things/vault/Prod_1?limit=0",
  ]) {
    test(`${path}: the same answer as zValidator`, async () => {
      const got = await answer(fast, path);
      expect(got).toEqual(await answer(reference, path));
      if (got.status === 400) expect(got.type).toBe("application/problem+json");
    });
  }

  test("a bad query is reported before a bad path, as zValidator orders them", async () => {
    const got = await answer(fast, "/things/vault/prod-1?limit=0");
    expect(got.status).toBe(400);
    expect(got.body.errors?.map((e) => e.field)).toEqual(["query.limit"]);
  });

  test("a schema with an async refinement is still checked (falls back to the async parse)", async () => {
    const app = newRouter();
    const asyncRoute = createRoute({
      method: "get",
      path: "/async/{name}",
      request: { params: z.object({ name: z.string().refine(async (v) => v !== "taken", "name taken") }) },
      responses: { 200: { description: "ok" } },
    });
    app.openapi(asyncRoute, (c) => c.json(c.req.valid("param"), 200));
    expect((await app.request("/async/free")).status).toBe(200);
    const refused = await answer(app, "/async/taken");
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ field: "param.name", message: "name taken" }]);
  });

  test("the route is documented with its path and query parameters", () => {
    const doc = fast.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
    const params = doc.paths?.["/things/{kind}/{name}"]?.get?.parameters as { name: string; in: string }[];
    expect(params.map((p) => `${p.in}:${p.name}`).sort()).toEqual([
      "path:kind",
      "path:name",
      "query:limit",
      "query:tag",
    ]);
  });
});
