// GET the SCONE resources (CAS, LAS, SGX plugins, policies, vaults, scones) from the informer cache.
import { createRoute, z } from "@hono/zod-openapi";
import type { KubeObject } from "../../kube/types.ts";
import type { SconeKind } from "../../resources/kinds.ts";
import { authorizeClusterWide, authorizeIn, authorizeList, type Caller, isKubeCaller, seesSecrets } from "../access.ts";
import { decodeCursor, page } from "../cursor.ts";
import { newRouter } from "../env.ts";
import { ApiProblem } from "../problem.ts";
import { redactResource } from "../redact.ts";
import { RESOURCE_KIND_NAMES, RESOURCE_KINDS, type ResourceCache } from "../resource-cache.ts";
import {
  NextCursor,
  namespaceField,
  objectNameField,
  PageQuery,
  problemResponses,
  queryText,
  secured,
} from "../schemas.ts";

const KindParam = z.enum(RESOURCE_KIND_NAMES).openapi({
  param: { name: "kind", in: "path" },
  description: "Kind by its plural: cas, las, sgxplugins, signedpolicies, encryptedpolicies, vaults, scones",
});
const NameParam = objectNameField.openapi({ param: { name: "name", in: "path" } });
const NamespaceParam = namespaceField.openapi({ param: { name: "namespace", in: "path" } });

const ResourceSchema = z
  .looseObject({
    apiVersion: z.string(),
    kind: z.string(),
    metadata: z.looseObject({ name: z.string(), namespace: z.string().optional() }),
    spec: z.record(z.string(), z.unknown()).optional(),
    status: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi("Resource", {
    description:
      'The object as the informer cache holds it (managedFields stripped). Below scope admin, secret-bearing fields (LAS spec.dcapKey, CAS spec.ownerConfig, Vault spec.server.extraEnvironmentVars values, the last-applied-configuration annotation) read "<redacted>"',
  });

const ResourceListSchema = z
  .object({ kind: z.string(), items: z.array(ResourceSchema), nextCursor: NextCursor })
  .openapi("ResourceList");

const ListQuery = z.object({
  namespace: namespaceField.optional().openapi({ description: "Only objects in this namespace" }),
  state: queryText(64).optional().openapi({ description: "Only objects whose .status.state is this, e.g. HEALTHY" }),
  phase: queryText(64).optional().openapi({ description: "Only objects whose .status.phase is this" }),
  ...PageQuery,
});

const Position = z.object({ k: z.string() });
const READ = { ...secured("read"), tags: ["resources"] };
const errors = problemResponses(400, 401, 403, 404, 503);

const listRoute = createRoute({
  ...READ,
  method: "get",
  path: "/resources/{kind}",
  summary: "List objects of a kind (from the informer cache), filtered and paged",
  request: { params: z.object({ kind: KindParam }), query: ListQuery },
  responses: {
    200: { description: "a page of objects", content: { "application/json": { schema: ResourceListSchema } } },
    ...errors,
  },
});

const getClusterScopedRoute = createRoute({
  ...READ,
  method: "get",
  path: "/resources/{kind}/{name}",
  summary: "One cluster-scoped object (LAS, SGX plugin, Scone)",
  request: { params: z.object({ kind: KindParam, name: NameParam }) },
  responses: {
    200: { description: "the object", content: { "application/json": { schema: ResourceSchema } } },
    ...errors,
  },
});

const getNamespacedRoute = createRoute({
  ...READ,
  method: "get",
  path: "/namespaces/{namespace}/resources/{kind}/{name}",
  summary: "One namespaced object (CAS, policies, Vault)",
  request: { params: z.object({ namespace: NamespaceParam, kind: KindParam, name: NameParam }) },
  responses: {
    200: { description: "the object", content: { "application/json": { schema: ResourceSchema } } },
    ...errors,
  },
});

export interface ResourceFilter {
  /** Only objects in one of these namespaces (undefined: all). */
  namespaces?: readonly string[];
  state?: string;
  phase?: string;
  /** Key (namespace/name) of the last object of the previous page. */
  after?: string;
}

const keyOf = (o: KubeObject): string => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
const statusField = (o: KubeObject, field: "state" | "phase"): unknown =>
  (o as { status?: Record<string, unknown> }).status?.[field];

/** Objects matching the filter after the cursor, ordered by namespace then name (limit + 1 of them, to see if more follow). */
export function selectResources(objects: readonly KubeObject[], filter: ResourceFilter, limit: number): KubeObject[] {
  const matching: [string, KubeObject][] = [];
  for (const o of objects) {
    const key = keyOf(o);
    if (filter.namespaces !== undefined && !filter.namespaces.includes(o.metadata?.namespace ?? "")) continue;
    if (filter.state !== undefined && statusField(o, "state") !== filter.state) continue;
    if (filter.phase !== undefined && statusField(o, "phase") !== filter.phase) continue;
    if (filter.after !== undefined && key <= filter.after) continue;
    matching.push([key, o]);
  }
  matching.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return matching.slice(0, limit + 1).map(([, o]) => o);
}

export function resourceRoutes(cache: ResourceCache | undefined) {
  const ready = (plural: string): { kind: SconeKind; namespaced: boolean; cache: ResourceCache } => {
    const type = RESOURCE_KINDS.get(plural);
    if (!type) throw new ApiProblem(404, "Not found", `no resource kind "${plural}"`);
    if (!cache) {
      throw new ApiProblem(
        503,
        "Service unavailable",
        "this API has no cluster connection; start `scone api` with a kubeconfig (or in a pod) to read resources",
      );
    }
    const reason = cache.notReady(type.kind);
    if (reason !== undefined) throw new ApiProblem(503, "Service unavailable", reason, { "Retry-After": "2" });
    return { kind: type.kind, namespaced: type.namespaced, cache };
  };
  const found = (obj: KubeObject | undefined, what: string): KubeObject => {
    if (!obj) throw new ApiProblem(404, "Not found", `${what} not found`);
    return obj;
  };
  // Admin tokens see secret-bearing fields; everyone else sees "<redacted>" (redact.ts).
  const shown = (caller: Caller, kind: SconeKind, obj: KubeObject) =>
    (seesSecrets(caller) ? obj : redactResource(kind, obj)) as z.infer<typeof ResourceSchema>;

  return newRouter()
    .openapi(listRoute, async (c) => {
      const { kind: plural } = c.req.valid("param");
      const { limit, cursor, namespace, ...filter } = c.req.valid("query");
      const caller = c.get("caller");
      const { kind, namespaced, cache } = ready(plural);
      const action = { verb: "list", resource: plural };
      if (!namespaced) await authorizeClusterWide(caller, action, kind);
      // A cluster-scoped kind allowed cluster-wide needs no further review for a namespace filter.
      const namespaces =
        namespaced || !isKubeCaller(caller)
          ? await authorizeList(caller, action, namespace)
          : namespace === undefined
            ? undefined
            : [namespace];
      const after = decodeCursor(cursor, Position)?.k;
      const rows = selectResources(
        cache.list(kind),
        { ...filter, ...(namespaces === undefined ? {} : { namespaces }), ...(after === undefined ? {} : { after }) },
        limit,
      );
      const result = page(rows, limit, (last) => ({ k: keyOf(last) }));
      const items = result.items.map((o) => shown(caller, kind, o));
      return c.json({ kind, items, nextCursor: result.nextCursor }, 200);
    })
    .openapi(getClusterScopedRoute, async (c) => {
      const { kind: plural, name } = c.req.valid("param");
      const caller = c.get("caller");
      const { kind, namespaced, cache } = ready(plural);
      if (namespaced) {
        throw new ApiProblem(
          404,
          "Not found",
          `${kind} is namespaced: use /api/v1/namespaces/{namespace}/resources/${plural}/${name}`,
        );
      }
      await authorizeClusterWide(caller, { verb: "get", resource: plural, name }, kind);
      return c.json(shown(caller, kind, found(cache.get(kind, undefined, name), `${kind} ${name}`)), 200);
    })
    .openapi(getNamespacedRoute, async (c) => {
      const { namespace, kind: plural, name } = c.req.valid("param");
      const caller = c.get("caller");
      const { kind, namespaced, cache } = ready(plural);
      if (!namespaced) {
        throw new ApiProblem(404, "Not found", `${kind} is cluster-scoped: use /api/v1/resources/${plural}/${name}`);
      }
      await authorizeIn(caller, { verb: "get", resource: plural, name }, namespace);
      return c.json(shown(caller, kind, found(cache.get(kind, namespace, name), `${kind} ${namespace}/${name}`)), 200);
    });
}
