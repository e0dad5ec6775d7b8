// Taking over from upstream deletes its Deployment, cert-manager objects and serving Secret and rewrites its
// webhook configurations. If the new operator then does not become Available, the cluster would be left with
// webhooks (failurePolicy Fail) pointing at a pod that cannot start. So the installer keeps, in memory, every
// object of the operator phase as it was before, and on failure puts each back: removed ones re-created (without
// the fields the API server sets), changed ones replaced by their old version, new ones deleted.
// The plan is pure; restoreOperatorPhase is the thin shell.
import type { KubeClient } from "../../kube/client.ts";
import type { KubeObject, ObjectRef } from "../../kube/types.ts";
import { notYet, reached, waitUntil } from "../status/wait.ts";
import { describeRef, isWrite, type Observed, type PlanStep, refKey } from "./plan.ts";

const POLL_MS = 500;

export type RollbackAction =
  /** Removed by the install (and maybe re-created under the same name): delete what is there, create the old one. */
  | { readonly type: "recreate"; readonly ref: ObjectRef; readonly object: KubeObject }
  /** Changed in place: replace with the old version. */
  | { readonly type: "replace"; readonly ref: ObjectRef; readonly object: KubeObject }
  /** Created by the install: delete it. */
  | { readonly type: "remove"; readonly ref: ObjectRef };

const SERVER_SET_METADATA = [
  "resourceVersion",
  "uid",
  "managedFields",
  "creationTimestamp",
  "generation",
  "selfLink",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
] as const;

/**
 * The object as it can be written again: no status, none of the metadata the API server sets, and no owner
 * reference to an object that is itself re-created (its uid changes; the garbage collector would delete the child).
 */
export function restorable(obj: KubeObject, recreatedUids: ReadonlySet<string> = new Set()): KubeObject {
  const { status: _status, ...rest } = obj as KubeObject & { status?: unknown };
  const metadata: Record<string, unknown> = { ...(obj.metadata ?? {}) };
  for (const key of SERVER_SET_METADATA) delete metadata[key];
  const owners = (metadata.ownerReferences as { uid?: string }[] | undefined)?.filter(
    (o) => !recreatedUids.has(o.uid ?? ""),
  );
  if (owners === undefined || owners.length === 0) delete metadata.ownerReferences;
  else metadata.ownerReferences = owners;
  return { ...rest, metadata } as KubeObject;
}

/** Whether the steps take over an install (something is deleted): only then does a failed operator roll back. */
export const isTakeover = (steps: readonly PlanStep[]): boolean =>
  steps.some((s) => s.phase === "operator" && s.action === "delete");

/**
 * What undoes the operator phase's writes (pure), in reverse order of the steps. `before` holds every object as it
 * was observed before any step ran (undefined: it did not exist).
 */
export function rollbackPlan(steps: readonly PlanStep[], before: Observed): RollbackAction[] {
  const byRef = new Map<string, RollbackAction>();
  const writes = steps.filter((s) => s.phase === "operator" && isWrite(s));
  const recreatedUids = new Set(
    writes
      .filter((s) => s.action === "delete")
      .map((s) => before.get(refKey(s.ref))?.metadata?.uid ?? "")
      .filter((uid) => uid !== ""),
  );
  for (const s of writes) {
    const key = refKey(s.ref);
    if (byRef.has(key)) continue; // the first write decides: a delete followed by a create is a re-creation
    const old = before.get(key);
    if (s.action === "delete") {
      if (old) byRef.set(key, { type: "recreate", ref: s.ref, object: restorable(old, recreatedUids) });
    } else if (old) byRef.set(key, { type: "replace", ref: s.ref, object: restorable(old, recreatedUids) });
    else byRef.set(key, { type: "remove", ref: s.ref });
  }
  return [...byRef.values()].reverse();
}

/** One line per action, for the message that says what was restored. */
export function describeRollback(actions: readonly RollbackAction[]): string {
  const verb = { recreate: "re-created", replace: "restored", remove: "removed" } as const;
  return actions.map((a) => `${verb[a.type]} ${describeRef(a.ref)}`).join(", ");
}

async function gone(client: KubeClient, ref: ObjectRef, timeoutSeconds: number): Promise<void> {
  const observe = async () =>
    (await client.tryGet(ref)) === undefined ? reached(true) : notYet(`${describeRef(ref)} still exists`);
  await waitUntil(`${describeRef(ref)} to be deleted`, observe, { timeoutMs: timeoutSeconds * 1000, pollMs: POLL_MS });
}

/**
 * Runs the rollback actions; every action is tried (one failure does not stop the others). Returns the actions
 * that failed, with why, so the caller can name what is still to fix by hand.
 */
export async function restoreOperatorPhase(
  client: KubeClient,
  actions: readonly RollbackAction[],
  timeoutSeconds: number,
): Promise<{ action: RollbackAction; error: string }[]> {
  const failed: { action: RollbackAction; error: string }[] = [];
  for (const action of actions) {
    try {
      if (action.type === "remove") {
        await client.deleteIfExists(action.ref);
      } else if (action.type === "recreate") {
        // Foreground: the new Deployment's pods go first, so they cannot take the old pods' place.
        await client.deleteIfExists(action.ref, { propagationPolicy: "Foreground" });
        await gone(client, action.ref, timeoutSeconds);
        await client.create(action.object);
      } else {
        const current = await client.tryGet(action.ref);
        if (!current) await client.create(action.object);
        else {
          const resourceVersion = current.metadata?.resourceVersion;
          await client.replace({
            ...action.object,
            metadata: { ...action.object.metadata, ...(resourceVersion ? { resourceVersion } : {}) },
          });
        }
      }
    } catch (e) {
      failed.push({ action, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return failed;
}
