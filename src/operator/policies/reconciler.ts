// The policy reconcile, one for both kinds (kinds.ts): observe (observe.ts: the policy, the status we last wrote,
// its successor, its retry) → plan (plan.ts, pure) → apply (apply.ts: the submission to the CAS, as the operator)
// → report (status, its Event, the log line, when to look again). A steady state costs no CLI call and no write.
import type { Logger } from "../../log.ts";
import type { ReconcileContext, ReconcileRequest, ReconcileResult } from "../../runtime/controller.ts";
import { writeStatus } from "../reconcile-kit.ts";
import { type ApplyDeps, submitToCas } from "./apply.ts";
import type { PolicyKind } from "./kinds.ts";
import { type Loaded, type ObserveDeps, observePolicy, readPolicy } from "./observe.ts";
import {
  type AnyPolicy,
  nameOf,
  type PolicyPlan,
  planPolicy,
  policyKey,
  type RetryPolicy,
  retryDelay,
} from "./plan.ts";
import { nextPolicyStatus, type PolicyOutcome, transitionEvent, type ValidityCondition } from "./status.ts";

export interface PolicyReconcilerDeps extends ObserveDeps, ApplyDeps, RetryPolicy {
  readonly log: Logger;
}

type Result = ReconcileResult | undefined;

/** Report: the status after `outcome` (remembered: the cache may lag), its Event, and a log line for a failure. */
async function report<P extends AnyPolicy>(
  d: PolicyReconcilerDeps,
  validity: ValidityCondition,
  key: string,
  o: Loaded<P>,
  outcome: PolicyOutcome,
  rctx: ReconcileContext,
): Promise<void> {
  const previous = d.memory.statusOf(key, o);
  const generation = o.metadata?.generation;
  const now = new Date(d.now());
  const status = nextPolicyStatus({ previous, outcome, generation, validity, now });
  await writeStatus(d.ctx.kit, { ...o, status: previous }, status, rctx);
  d.memory.remember(key, o, status);
  const event = transitionEvent(previous, status, outcome);
  if (event) d.ctx.kit.events.record(o, event.type, event.reason, event.message);
  if (outcome.kind !== "synced" && outcome.kind !== "superseded") {
    // Names and hashes only: spec.policy and the identity never reach the log.
    d.log.info("policy not registered", {
      policy: `${o.kind} ${nameOf(o)}`,
      state: status.state,
      outcome: outcome.kind,
    });
  }
}

/** When to look again after `outcome` (remembered, so our own status write does not submit again early). */
function lookAgain(d: PolicyReconcilerDeps, key: string, outcome: PolicyOutcome): Result {
  const delay = retryDelay(outcome, d);
  d.memory.setRetry(key, delay === undefined ? undefined : d.now() + delay);
  return delay === undefined ? undefined : { requeueAfterMs: delay };
}

/** Apply a submission, then report it. */
async function submit<P extends AnyPolicy, H>(
  d: PolicyReconcilerDeps,
  kind: PolicyKind<P, H>,
  key: string,
  o: Loaded<P>,
  plan: PolicyPlan<H> & { kind: "submit" },
  rctx: ReconcileContext,
): Promise<Result> {
  const outcome = await submitToCas(d, o.spec.casAddress, plan.session, rctx, (conn, target) =>
    kind.submit(conn.driver, target, o.spec, plan.header),
  );
  await report(d, kind.validity, key, o, outcome, rctx);
  if (outcome.kind === "synced") rctx.actions.push(kind.registered(outcome, plan.header));
  return lookAgain(d, key, outcome);
}

/** The reconcile of one policy of `kind`: observe → plan → apply → report. */
export const policyReconciler =
  <P extends AnyPolicy, H>(kind: PolicyKind<P, H>, d: PolicyReconcilerDeps) =>
  async (req: ReconcileRequest, rctx: ReconcileContext): Promise<Result> => {
    const key = policyKey(kind.type.kind, req.namespace, req.name);
    const o = await readPolicy<P>(d, kind.type, req, rctx);
    if (!o) {
      // Gone or being deleted: the CAS keeps the session; only our memory of it goes.
      d.memory.forget(key);
      return undefined;
    }
    rctx.observed = {
      ...(o.metadata?.generation !== undefined ? { generation: o.metadata.generation } : {}),
      ...(o.metadata?.resourceVersion ? { resourceVersion: o.metadata.resourceVersion } : {}),
    };
    const plan = planPolicy(observePolicy(d, key, o), () => kind.prepare(o.spec));
    switch (plan.kind) {
      case "leave":
        return undefined;
      case "wait":
        return { requeueAfterMs: plan.requeueAfterMs };
      case "report":
        await report(d, kind.validity, key, o, plan.outcome, rctx);
        return lookAgain(d, key, plan.outcome);
      case "submit":
        return submit(d, kind, key, o, plan, rctx);
    }
  };
