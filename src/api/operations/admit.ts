// The gate of POST /api/v1/operations after the schema: may this caller start this operation on these
// parameters? The namespace must be one of the token's, a backup target must be inside the confinement, and a
// restore must name a completed catalog backup that was stored inside the confinement and — unless the caller is
// an admin — was taken in the namespace it is restored into. Throws the problem; returns nothing when allowed.
import type { StoreDb } from "../../store/open.ts";
import { authorizeIn, type Caller, isKubeCaller, type KubeAction } from "../access.ts";
import { ApiProblem, fieldProblem } from "../problem.ts";
import { type Confinement, refuseBackupLocation } from "./confine.ts";
import type { NewOperationBody } from "./params.ts";

export interface AdmitDeps {
  readonly db: StoreDb;
  readonly confine: Confinement;
}

export async function admitOperation(body: NewOperationBody, caller: Caller, deps: AdmitDeps): Promise<void> {
  await authorizeIn(caller, operationAction(body), body.namespace);
  if (body.kind === "backup" && body.params.target !== undefined) {
    const refused = refuseBackupLocation(deps.confine, body.params.target);
    if (refused) throw fieldProblem("body.params.target", `params.target ${refused}`);
  }
  if (body.kind === "backup" && body.params.target === undefined && deps.confine.backupRoot === null) {
    throw fieldProblem(
      "body.params.target",
      "params.target is required: this API has no local backup root (in a pod: start scone api with --backup-root DIR on a persistent volume), give an s3:// location it allows",
    );
  }
  if (body.kind === "restore") {
    const record = await restorableBackup(deps, body.params.from);
    if (record.namespace !== body.namespace) {
      if (isKubeCaller(caller)) {
        // Across namespaces: the caller must be allowed to restore in the namespace the backup came from too.
        await authorizeIn(caller, { verb: "restore", resource: "cas", subresource: "operations" }, record.namespace);
      } else if (caller.scope !== "admin") {
        throw new ApiProblem(
          403,
          "Forbidden",
          `backup ${record.id} was taken in namespace "${record.namespace}"; it restores only into "${record.namespace}" (an admin token may restore it into "${body.namespace}")`,
        );
      }
    }
  }
}

/** The catalog row of a restore's `from`, refused (naming body.params.from) unless it is usable and confined. */
async function restorableBackup(deps: AdmitDeps, id: string) {
  const { getBackup } = await import("../../store/backups.ts");
  const record = getBackup(deps.db, id);
  if (!record) throw fieldProblem("body.params.from", `no backup ${id} in the catalog (GET /api/v1/backups)`);
  if (record.phase !== "completed") {
    throw fieldProblem("body.params.from", `backup ${id} is ${record.phase}; only completed backups restore`);
  }
  const refused = refuseBackupLocation(deps.confine, record.target);
  if (refused) throw fieldProblem("body.params.from", `backup ${id} is stored where this API may not read: ${refused}`);
  return record;
}

/** RBAC for starting an operation: the operation's kind as the verb on cas/operations, for the target CAS. */
export function operationAction(body: Pick<NewOperationBody, "kind" | "name">): KubeAction {
  return { verb: body.kind, resource: "cas", subresource: "operations", name: body.name };
}
