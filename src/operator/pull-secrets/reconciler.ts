// The pull-secret reconcile of one namespace: observe (observe.ts) → plan (plan.ts, pure) → apply (apply.ts) →
// report (a Warning for each secret left alone or refused, the memory of where copies are).
import { secretsGrantHint } from "../../install/rbac.ts";
import type { ReconcileContext, ReconcileRequest, ReconcileResult } from "../../runtime/controller.ts";
import type { EventSink } from "../reconcile-kit.ts";
import { type ApplyDeps, applyInjection } from "./apply.ts";
import { type Namespace, type ObserveDeps, observeNamespace } from "./observe.ts";
import { type InjectionAction, planForbidden, planInjection } from "./plan.ts";

export interface PullSecretReconcilerDeps extends Omit<ObserveDeps, "client">, Omit<ApplyDeps, "client"> {
  readonly client: ObserveDeps["client"] & ApplyDeps["client"];
  readonly events: EventSink;
}

const REASON = "PullSecretNotInjected";

/** Secrets left as they are get a Warning; an unannotated namespace is forgotten once its copies are gone. */
function report(d: PullSecretReconcilerDeps, ns: Namespace, actions: readonly InjectionAction[]): void {
  for (const a of actions) if (a.op === "leave") d.events.record(ns, "Warning", REASON, a.why);
  d.copied.settle(ns);
}

/** Refused Secrets: a namespace that asks for a copy is told which grant to add, and looked at again later. */
function reportForbidden(d: PullSecretReconcilerDeps, ns: Namespace): ReconcileResult | undefined {
  const refused = planForbidden(ns, secretsGrantHint(ns.metadata?.name ?? "", d.operatorNamespace));
  if (!refused) return undefined;
  d.events.record(ns, "Warning", REASON, refused.warning);
  return { requeueAfterMs: refused.requeueAfterMs };
}

export const pullSecretReconciler =
  (d: PullSecretReconcilerDeps) =>
  async (req: ReconcileRequest, rctx: ReconcileContext): Promise<ReconcileResult | undefined> => {
    const seen = await observeNamespace(d, req.name, rctx);
    if (seen.kind === "none") return undefined;
    if (seen.kind === "forbidden") return reportForbidden(d, seen.ns);
    const actions = planInjection(seen.ns, d.operatorNamespace, seen.sources, seen.existing);
    // A refused precondition throws here and the queue retries.
    await applyInjection(d, req.name, actions, rctx);
    report(d, seen.ns, actions);
    return undefined;
  };
