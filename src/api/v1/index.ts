// Mounts /api/v1: authentication for every route below it, the audit of mutating calls, then the route modules
// (each route names the scope it needs).
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AccessReviewer } from "../../kube/access-review.ts";
import { recordApiCall } from "../../store/api-audit.ts";
import type { StoreDb } from "../../store/open.ts";
import { verifyToken } from "../../store/tokens.ts";
import type { ApiEnv } from "../env.ts";
import { auditCalls } from "../middleware/audit-calls.ts";
import { authenticate, kubeIdentifier, type TokenVerifier } from "../middleware/authenticate.ts";
import { type Confinement, NOTHING_ALLOWED } from "../operations/confine.ts";
import type { OperationExecutor } from "../operations/executor.ts";
import { problem, problemResponse } from "../problem.ts";
import type { ResourceCache } from "../resource-cache.ts";
import { type ApiTarget, confinedTargets } from "../targets.ts";
import { auditRoutes } from "./audit.ts";
import { backupRoutes } from "./backups.ts";
import { historyRoutes } from "./history.ts";
import { operationRoutes } from "./operations.ts";
import { resourceRoutes } from "./resources.ts";
import { tokenRoutes } from "./tokens.ts";

export const API_V1 = "/api/v1";

export interface ApiV1Deps {
  readonly db: StoreDb;
  readonly executor: OperationExecutor;
  /** The informer cache; absent when the API has no cluster connection (resource reads answer 503). */
  readonly resources?: ResourceCache;
  /** Defaults to the store's verifyToken (hash lookup, expiry and revocation checked). */
  readonly verifyToken?: TokenVerifier;
  readonly now?: () => number;
  /**
   * --kube-auth: bearer tokens are Kubernetes tokens, reviewed by the API server (TokenReview, SubjectAccessReview);
   * the token table is not consulted and /tokens answers 404. Absent: the store's token table.
   */
  readonly reviewer?: AccessReviewer;
  /** Where operation parameters may point (backup root, S3 allow-list); default: no location at all. */
  readonly confine?: Confinement;
  /** The targets the catalog and the audit index are refilled from (default: the confinement's locations). */
  readonly targets?: () => readonly ApiTarget[];
}

export function mountV1(app: OpenAPIHono<ApiEnv>, deps: ApiV1Deps): void {
  const now = deps.now ?? Date.now;
  const verify = deps.verifyToken ?? ((clear: string) => verifyToken(deps.db, clear, now()));
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: deps.reviewer
      ? "A Kubernetes bearer token (e.g. a ServiceAccount's); RBAC decides per route: see x-scone-rbac and docs/RBAC.md."
      : "A token from `scone api token create` or POST /api/v1/tokens. Scopes: read < operate < admin; each route names the one it needs (x-scone-scope).",
  });
  if (deps.reviewer) {
    // Before authentication: the answer holds no data, and it tells a client with a table token what to do.
    app.all(`${API_V1}/tokens`, noTokenTable);
    app.all(`${API_V1}/tokens/*`, noTokenTable);
  }
  const identify = deps.reviewer ? kubeIdentifier(deps.reviewer) : verify;
  const hint = deps.reviewer
    ? "a Kubernetes token, e.g. `kubectl create token SERVICEACCOUNT`"
    : "see `scone api token create`";
  app.use(`${API_V1}/*`, authenticate(identify, hint));
  app.use(
    `${API_V1}/*`,
    auditCalls((call) => void recordApiCall(deps.db, call), now),
  );
  app.route(API_V1, resourceRoutes(deps.resources));
  app.route(API_V1, historyRoutes(deps.db));
  const targets = deps.targets ?? (() => confinedTargets(deps.confine ?? NOTHING_ALLOWED));
  app.route(API_V1, backupRoutes(deps.db, targets));
  app.route(API_V1, auditRoutes(deps.db, targets));
  app.route(API_V1, operationRoutes(deps.db, deps.executor, deps.confine ?? NOTHING_ALLOWED));
  if (!deps.reviewer) app.route(API_V1, tokenRoutes(deps.db, now));
}

const noTokenTable = () =>
  problemResponse(
    problem(
      404,
      "Not found",
      "this API authenticates Kubernetes tokens (--kube-auth): it has no token table; grant rights with RBAC (ClusterRoles scone-api-operator and scone-api-viewer, docs/RBAC.md)",
    ),
  );
