// Token management (admin): create (the clear token is in this one response and nowhere else), list, revoke.
import { createRoute, z } from "@hono/zod-openapi";
import type { StoreDb } from "../../store/open.ts";
import { TOKEN_SCOPES } from "../../store/schema.ts";
import { createToken, listTokens, revokeToken, type TokenInfo } from "../../store/tokens.ts";
import { newRouter } from "../env.ts";
import { withFieldPrefix } from "../errors.ts";
import { ApiProblem, fieldProblem } from "../problem.ts";
import { iso, namespaceField, problemResponses, secured } from "../schemas.ts";
import { parseTtl, TtlError } from "../ttl.ts";

const TokenInfoSchema = z
  .object({
    name: z.string(),
    scope: z.enum(TOKEN_SCOPES),
    prefix: z.string().openapi({ description: "First characters of the token, to tell tokens apart" }),
    namespaces: z
      .array(z.string())
      .nullable()
      .openapi({ description: "Namespaces the token is limited to; null = every namespace" }),
    state: z.enum(["active", "expired", "revoked"]),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
  })
  .openapi("TokenInfo");

const CreatedTokenSchema = TokenInfoSchema.extend({
  token: z.string().openapi({ description: "The bearer token. Shown only in this response: store it now" }),
}).openapi("CreatedToken");

const NameParam = z
  .string()
  .min(1)
  .max(63)
  .openapi({ param: { name: "name", in: "path" } });

const ADMIN = { ...secured("admin"), tags: ["tokens"] };

const createTokenRoute = createRoute({
  ...ADMIN,
  method: "post",
  path: "/tokens",
  summary: "Create a bearer token",
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.strictObject({
            name: z.string().min(1).max(63).openapi({ example: "ci-deploy" }),
            scope: z.enum(TOKEN_SCOPES),
            ttl: z.string().max(16).optional().openapi({ description: "Lifetime, e.g. 30m, 12h, 7d (default: none)" }),
            namespaces: z.array(namespaceField).max(100).optional().openapi({
              description:
                "Limit the token to these namespaces (read and operate only): other namespaces and cluster-scoped kinds answer 403",
            }),
          }),
        },
      },
    },
  },
  responses: {
    201: { description: "created", content: { "application/json": { schema: CreatedTokenSchema } } },
    ...problemResponses(400, 401, 403, 409, 413),
  },
});

const listTokensRoute = createRoute({
  ...ADMIN,
  method: "get",
  path: "/tokens",
  summary: "List tokens (never the token or its hash)",
  responses: {
    200: {
      description: "all tokens by name",
      content: { "application/json": { schema: z.object({ items: z.array(TokenInfoSchema) }) } },
    },
    ...problemResponses(401, 403),
  },
});

const revokeTokenRoute = createRoute({
  ...ADMIN,
  method: "delete",
  path: "/tokens/{name}",
  summary: "Revoke a token (it stops working at once)",
  request: { params: z.object({ name: NameParam }) },
  responses: {
    200: { description: "revoked", content: { "application/json": { schema: TokenInfoSchema } } },
    ...problemResponses(401, 403, 404),
  },
});

export function tokenState(t: TokenInfo, now: number): "active" | "expired" | "revoked" {
  if (t.revokedAt !== null && t.revokedAt <= now) return "revoked";
  if (t.expiresAt !== null && t.expiresAt <= now) return "expired";
  return "active";
}

export function renderToken(t: TokenInfo, now: number) {
  return {
    name: t.name,
    scope: t.scope,
    prefix: t.prefix,
    namespaces: t.namespaces,
    state: tokenState(t, now),
    createdAt: iso(t.createdAt),
    expiresAt: iso(t.expiresAt),
    revokedAt: iso(t.revokedAt),
    lastUsedAt: iso(t.lastUsedAt),
  };
}

export function tokenRoutes(db: StoreDb, now: () => number = Date.now) {
  return newRouter()
    .openapi(createTokenRoute, (c) => {
      const { name, scope, ttl, namespaces } = c.req.valid("json");
      const at = now();
      let expiresAt: number | null = null;
      try {
        if (ttl !== undefined) expiresAt = at + parseTtl(ttl);
      } catch (err) {
        if (err instanceof TtlError) throw fieldProblem("body.ttl", err.message);
        throw err;
      }
      const { token, info } = withFieldPrefix("body", () =>
        createToken(db, { name, scope, expiresAt, namespaces: namespaces ?? null, now: at }),
      );
      c.header("Location", `/api/v1/tokens/${encodeURIComponent(info.name)}`);
      c.header("Cache-Control", "no-store");
      return c.json({ ...renderToken(info, at), token }, 201);
    })
    .openapi(listTokensRoute, (c) => {
      const at = now();
      return c.json({ items: listTokens(db).map((t) => renderToken(t, at)) }, 200);
    })
    .openapi(revokeTokenRoute, (c) => {
      const { name } = c.req.valid("param");
      const revoked = revokeToken(db, name, now());
      if (!revoked) throw new ApiProblem(404, "Not found", `no token named "${name}"`);
      return c.json(renderToken(revoked, now()), 200);
    });
}
