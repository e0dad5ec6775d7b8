// Long-running operations: POST starts one (202 + Location), GET reads its phase, steps, error and result.
import { createRoute, z } from "@hono/zod-openapi";
import type { StoreDb } from "../../store/open.ts";
import { newOperationRecord, type OperationRecord } from "../../store/operations.ts";
import { type JsonObject, OPERATION_KINDS, OPERATION_PHASES } from "../../store/schema.ts";
import { authorizeIn, authorizeList } from "../access.ts";
import { decodeCursor, page } from "../cursor.ts";
import { newRouter } from "../env.ts";
import { withFieldPrefix } from "../errors.ts";
import { admitOperation } from "../operations/admit.ts";
import type { Confinement } from "../operations/confine.ts";
import type { OperationExecutor } from "../operations/executor.ts";
import { NewOperationSchema } from "../operations/params.ts";
import { ApiProblem } from "../problem.ts";
import { iso, NextCursor, namespaceField, objectNameField, PageQuery, problemResponses, secured } from "../schemas.ts";

const Json = z.record(z.string(), z.unknown());
const OperationSchema = z
  .object({
    id: z.string(),
    kind: z.enum(OPERATION_KINDS),
    namespace: z.string(),
    name: z.string(),
    params: Json,
    phase: z.enum(OPERATION_PHASES),
    currentStep: z.string().nullable().openapi({ description: "Step in progress (re-checked if the API restarted)" }),
    stepsDone: z.array(z.string()),
    error: z.string().nullable(),
    result: Json.nullable(),
    createdBy: z.string().openapi({ description: "Name of the token that created it, or cli" }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Operation");

const IdParam = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "an operation id as returned by POST /api/v1/operations")
  .openapi({ param: { name: "id", in: "path" } });

const opJson = { "application/json": { schema: OperationSchema } };

const createOperationRoute = createRoute({
  ...secured("operate"),
  tags: ["operations"],
  method: "post",
  path: "/operations",
  summary: "Start a provision, upgrade, backup, restore or evict operation",
  request: { body: { required: true, content: { "application/json": { schema: NewOperationSchema } } } },
  responses: {
    202: {
      description: "accepted; poll the Location until phase is succeeded or failed",
      headers: { Location: { schema: { type: "string" }, description: "/api/v1/operations/{id}" } },
      content: opJson,
    },
    ...problemResponses(400, 401, 403, 409, 413, 501),
  },
});

const getOperationRoute = createRoute({
  ...secured("read"),
  tags: ["operations"],
  method: "get",
  path: "/operations/{id}",
  summary: "One operation: phase, steps, error, result",
  request: { params: z.object({ id: IdParam }) },
  responses: { 200: { description: "the operation", content: opJson }, ...problemResponses(400, 401, 403, 404) },
});

const listOperationsRoute = createRoute({
  ...secured("read"),
  tags: ["operations"],
  method: "get",
  path: "/operations",
  summary: "Operations, newest first",
  request: {
    query: z.object({
      kind: z.enum(OPERATION_KINDS).optional(),
      namespace: namespaceField.optional(),
      name: objectNameField.optional(),
      phase: z.enum(OPERATION_PHASES).optional(),
      ...PageQuery,
    }),
  },
  responses: {
    200: {
      description: "a page of operations",
      content: {
        "application/json": { schema: z.object({ items: z.array(OperationSchema), nextCursor: NextCursor }) },
      },
    },
    ...problemResponses(400, 401, 403),
  },
});

const Position = z.object({ t: z.number().int(), id: z.string() });
const OPERATIONS_GET = { verb: "get", resource: "cas", subresource: "operations" } as const;
const OPERATIONS_LIST = { verb: "list", resource: "cas", subresource: "operations" } as const;

export function renderOperation(op: OperationRecord) {
  const { version: _version, createdAt, updatedAt, ...rest } = op;
  return { ...rest, createdAt: iso(createdAt), updatedAt: iso(updatedAt) };
}

export function operationRoutes(db: StoreDb, executor: OperationExecutor, confine: Confinement) {
  return newRouter()
    .openapi(createOperationRoute, async (c) => {
      const body = c.req.valid("json");
      if (!executor.has(body.kind)) {
        throw new ApiProblem(501, "Not implemented", `${body.kind} operations are not implemented yet in this API`);
      }
      await admitOperation(body, c.get("caller"), { db, confine });
      const records = executor.records;
      const [unfinished] = await records.unfinished({ namespace: body.namespace, name: body.name });
      if (unfinished) {
        throw new ApiProblem(
          409,
          "Conflict",
          `operation ${unfinished.id} (${unfinished.kind}) on ${body.namespace}/${body.name} is still ${unfinished.phase}; wait for it to finish`,
        );
      }
      const input = {
        kind: body.kind,
        namespace: body.namespace,
        name: body.name,
        params: body.params as JsonObject,
        createdBy: c.get("caller").name,
      };
      // Validation first (its StoreInputError names the body field), then the write.
      withFieldPrefix("body", () => newOperationRecord(input));
      const op = await records.create(input);
      c.set("operationId", op.id);
      executor.start(op);
      c.header("Location", `/api/v1/operations/${op.id}`);
      return c.json(renderOperation(op), 202);
    })
    .openapi(getOperationRoute, async (c) => {
      const { id } = c.req.valid("param");
      const op = await executor.records.get(id);
      if (!op) throw new ApiProblem(404, "Not found", `operation ${id} not found`);
      await authorizeIn(c.get("caller"), OPERATIONS_GET, op.namespace);
      return c.json(renderOperation(op), 200);
    })
    .openapi(listOperationsRoute, async (c) => {
      const { limit, cursor, namespace, ...filter } = c.req.valid("query");
      const after = decodeCursor(cursor, Position);
      const namespaces = await authorizeList(c.get("caller"), OPERATIONS_LIST, namespace);
      const rows = await executor.records.page({
        ...filter,
        namespaces,
        limit: limit + 1,
        ...(after ? { after } : {}),
      });
      const result = page(rows, limit, (last) => ({ t: last.createdAt, id: last.id }));
      return c.json({ items: result.items.map(renderOperation), nextCursor: result.nextCursor }, 200);
    });
}
