// The pull-secret reconciler's writes: create, update or delete each copy as planned (plan.ts planInjection). A
// delete carries the resourceVersion judged ours, so a secret changed meanwhile is refused, not removed.
import type { KubeClient } from "../../kube/client.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import { SECRET_TYPE } from "../kit/caches.ts";
import type { CopiedInto } from "./observe.ts";
import { actionTarget, type InjectionAction } from "./plan.ts";

export interface ApplyDeps {
  readonly client: Pick<KubeClient, "create" | "replace" | "deleteIfExists">;
  readonly copied: CopiedInto;
}

async function write(d: ApplyDeps, namespace: string, action: InjectionAction, rctx: ReconcileContext) {
  const opts = { signal: rctx.signal };
  if (action.op === "create") await d.client.create(action.secret as KubeObject, opts);
  else if (action.op === "update") await d.client.replace(action.secret as KubeObject, opts);
  else if (action.op === "delete") {
    const ref = { ...SECRET_TYPE, namespace, name: action.name };
    const rv = action.resourceVersion;
    await d.client.deleteIfExists(ref, { ...opts, ...(rv ? { preconditions: { resourceVersion: rv } } : {}) });
  }
}

/** Carries out the writes among `actions` in order ("leave" is reported, not written). */
export async function applyInjection(
  d: ApplyDeps,
  namespace: string,
  actions: readonly InjectionAction[],
  rctx: ReconcileContext,
): Promise<void> {
  for (const action of actions) {
    if (action.op === "leave") continue;
    await write(d, namespace, action, rctx);
    rctx.actions.push(`${action.op} Secret ${namespace}/${actionTarget(action)}`);
    if (action.op === "create") d.copied.add(namespace);
  }
}
