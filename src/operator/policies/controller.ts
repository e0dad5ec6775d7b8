// The SignedPolicy and EncryptedPolicy controllers: Kubernetes carries policies; the CAS decides about them. A
// policy with the documented shape (precheck.ts) is handed to the SCONE CLI through the CAS driver (reach.ts), as
// the operator's own identity — which the CAS owner admits with `scone cas admit-operator` (admit.ts) — in SCONE's
// own formats: the signed-session JSON and the encrypted-session JSON (SCONE-CLI §6). The CLI's answer becomes the
// status: the hash it printed, or its refusal (CasRejected, distinct from the operator's own NotSubmitted). A
// version that exists is updated (the CAS enforces the predecessor rule); nothing is overwritten behind the CAS's
// back. A steady state costs no CLI call and no write. States: see status.ts.
// This file only wires caches, the reconciler (reconciler.ts: observe → plan → apply → report) and the watches.
import type { CasDriverSource } from "../../cas/driver/reach.ts";
import { CliRunError } from "../../cas/driver/runner.ts";
import type { KubeObject } from "../../kube/types.ts";
import { Controller } from "../../runtime/controller.ts";
import { type OperatorContext, requestOf, watchPrimary } from "../wiring.ts";
import { ENCRYPTED_POLICY, type PolicyKind, SIGNED_POLICY } from "./kinds.ts";
import { allPolicies, type PolicyCaches, PolicyMemory } from "./observe.ts";
import { type AnyPolicy, type PolicyKindName, policyKey, supersededByChange } from "./plan.ts";
import { type PolicyReconcilerDeps, policyReconciler } from "./reconciler.ts";
import { SubmissionScheduler } from "./schedule.ts";

export { ENCRYPTED_POLICY_TYPE, SIGNED_POLICY_TYPE } from "./kinds.ts";

export interface PolicyControllerDeps {
  /** How the operator reaches a CAS: connect(cas, {kind: "operator"}) — never the owner's identity. */
  readonly source: CasDriverSource;
  /** Retry delay while the CAS cannot be reached or the operator's CLI has not attested it (default 30 s). */
  readonly retryMs?: number;
  /** When a policy the CAS refused is submitted again: the owner may admit the operator later (default 5 min). */
  readonly casRejectedRetryMs?: number;
  /**
   * Reconciles in parallel per kind (default 32: most of a reconcile is waiting for the CLI and the API server; the
   * CLI calls are bounded per CAS by `submissionsPerCas`).
   */
  readonly workers?: number;
  /** Submissions to one CAS at once (default 8); one session's submissions always run one after another. */
  readonly submissionsPerCas?: number;
  /** How long the CAS key the operator's CLI attested is reused per address (default 5 min). */
  readonly targetReuseMs?: number;
}

/** The source of an operator context without a CAS driver: every policy waits in Error, saying so. */
export const noCasDriver: CasDriverSource = {
  description: "no CAS driver",
  connect: async () => {
    throw new CliRunError("this operator was started without a CAS driver (casDriverSource); it cannot reach a CAS");
  },
};

export interface PolicyControllers {
  readonly signed: Controller;
  readonly encrypted: Controller;
}

const DEFAULT_RETRY_MS = 30_000;
const DEFAULT_CAS_REJECTED_RETRY_MS = 5 * 60_000;
const DEFAULT_TARGET_REUSE_MS = 5 * 60_000;

function reconcilerDeps(ctx: OperatorContext, deps: PolicyControllerDeps, caches: PolicyCaches): PolicyReconcilerDeps {
  return {
    ctx,
    caches,
    memory: new PolicyMemory(),
    now: () => Date.now(),
    log: ctx.log.child({ component: "policies" }),
    source: deps.source,
    scheduler: new SubmissionScheduler(deps.submissionsPerCas),
    casKeys: new Map(),
    targetReuseMs: deps.targetReuseMs ?? DEFAULT_TARGET_REUSE_MS,
    retryMs: deps.retryMs ?? DEFAULT_RETRY_MS,
    casRejectedRetryMs: deps.casRejectedRetryMs ?? DEFAULT_CAS_REJECTED_RETRY_MS,
  };
}

/**
 * The watches beyond each kind's own: every status naming a predecessor is indexed as it arrives in the cache
 * (written by us or by an earlier run), and a policy that registered the version after another's wakes that one
 * (after the cache has the successor's status), which becomes Superseded without waiting for its timer.
 */
function watchSuccessions(d: PolicyReconcilerDeps, controllers: PolicyControllers): void {
  const controllerOf = (p: AnyPolicy) => (p.kind === "EncryptedPolicy" ? controllers.encrypted : controllers.signed);
  const wake = (o: KubeObject) => {
    for (const p of supersededByChange(o as AnyPolicy, allPolicies(d.caches))) controllerOf(p).enqueue(requestOf(p));
  };
  const byKind: [PolicyKindName, PolicyCaches[keyof PolicyCaches]][] = [
    ["SignedPolicy", d.caches.signed],
    ["EncryptedPolicy", d.caches.encrypted],
  ];
  for (const [kind, informer] of byKind) {
    const key = (o: KubeObject) => policyKey(kind, o.metadata?.namespace, o.metadata?.name ?? "");
    const seen = (o: KubeObject) => {
      d.memory.index(key(o), (o as AnyPolicy).status);
      wake(o);
    };
    // An entry a later status no longer names stays until the policy goes: a stale candidate is checked and
    // passed over, a missing one would hide a successor.
    informer.addHandlers({
      add: seen,
      update: (_a, b) => seen(b),
      delete: (o) => d.memory.unindex(key(o), (o as AnyPolicy).status),
    });
  }
}

/** Wires both controllers: caches, one reconciler per kind over shared memory, the watches (called once). */
export function setupPolicyControllers(ctx: OperatorContext, deps: PolicyControllerDeps): PolicyControllers {
  const caches: PolicyCaches = {
    signed: ctx.informers.informer<KubeObject>({ type: SIGNED_POLICY.type }),
    encrypted: ctx.informers.informer<KubeObject>({ type: ENCRYPTED_POLICY.type }),
  };
  const d = reconcilerDeps(ctx, deps, caches);
  const controllerOf = <P extends AnyPolicy, H>(kind: PolicyKind<P, H>) =>
    new Controller({
      name: kind.controller,
      reconcile: policyReconciler(kind, d),
      workers: deps.workers ?? 32,
      metrics: ctx.manager.metrics,
      onRecord: ctx.recordHistory,
    });
  const controllers = { signed: controllerOf(SIGNED_POLICY), encrypted: controllerOf(ENCRYPTED_POLICY) };
  watchPrimary(controllers.signed, caches.signed);
  watchPrimary(controllers.encrypted, caches.encrypted);
  watchSuccessions(d, controllers);
  ctx.manager.addController(controllers.signed);
  ctx.manager.addController(controllers.encrypted);
  return controllers;
}

/** The name the operator's controller list and the tests use. */
export const registerPolicyControllers = setupPolicyControllers;
