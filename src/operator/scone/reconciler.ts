// The Scone reconcile: observe (caches) → plan (plan.ts, pure) → apply (apply.ts) → report (status, Event,
// gauges). Failures of the deploy count in status.retryCount and are retried with backoff; the last allowed one
// stops the controller (a TerminalError in the history) until the resource changes.
import type { KubeObject } from "../../kube/types.ts";
import type { Scone } from "../../resources/scone.ts";
import { SCONE_REASON } from "../../resources/scone-conditions.ts";
import {
  type ReconcileContext,
  type ReconcileRequest,
  type ReconcileResult,
  TerminalError,
} from "../../runtime/controller.ts";
import { primaryOf, waitForCaches } from "../kit/caches.ts";
import type { ResourceGauges } from "../kit/gauges.ts";
import { addFinalizer, hasFinalizer, removeFinalizer, writeStatus } from "../reconcile-kit.ts";
import { deployStack, errorText, type StackDeps, stackCas, uninstallStack } from "./apply.ts";
import { backupCondition } from "./backup-schedule.ts";
import {
  decideScone,
  phaseChangeEvent,
  planFailure,
  type RetryPolicy,
  requeueAfterDeploy,
  type SconeDecision,
  type Stateful,
  stackBackupFacts,
  stackComponents,
} from "./plan.ts";
import { effectiveSpec, STACK_NAMES, specHash } from "./render.ts";
import { type Placement, type SconeOutcome, type STACK_GAUGES, sconeStatusAfter, stackMetricValues } from "./status.ts";

export const SCONE_FINALIZER = "confidential.security.osc.t-systems.com/finalizer";

export interface SconeReconcilerDeps extends StackDeps {
  readonly gauges: ResourceGauges<keyof typeof STACK_GAUGES, never>;
  readonly now: () => Date;
  readonly maxRetries: number;
  readonly retryBaseMs: number;
  /** Whether scheduled backups run (a backup port was given). */
  readonly backupsAvailable: boolean;
}

type Result = ReconcileResult | undefined;
type DeployDecision = SconeDecision & { kind: "deploy" };

const retryPolicy = (d: SconeReconcilerDeps): RetryPolicy => ({
  maxRetries: d.maxRetries,
  retryBaseMs: d.retryBaseMs,
  now: d.now(),
});

/** Report: the status after `outcome`, its Event on a phase change, and the gauges. */
async function report(
  d: SconeReconcilerDeps,
  scone: Scone,
  outcome: SconeOutcome,
  rctx: ReconcileContext,
): Promise<Scone> {
  const status = sconeStatusAfter(outcome, {
    previous: scone.status,
    generation: scone.metadata.generation,
    now: d.now(),
  });
  await writeStatus(d.ctx.kit, scone, status, rctx);
  d.gauges.set(scone, stackMetricValues(status, stackBackupFacts(scone, d.backupsAvailable)));
  const event = phaseChangeEvent(scone.status?.phase, status.phase, outcome);
  if (event) d.ctx.kit.events.record(scone, event.type, event.reason, event.message);
  return { ...scone, status };
}

/** Observe: the Scone as the caches show it (once synced), or undefined when it is gone. */
async function observe(
  d: SconeReconcilerDeps,
  req: ReconcileRequest,
  rctx: ReconcileContext,
): Promise<Scone | undefined> {
  await waitForCaches(Object.values(d.caches), rctx.signal);
  const found = d.caches.scones.get(req.name) as Scone | undefined;
  if (!found) {
    d.gauges.remove(req.name);
    return undefined;
  }
  rctx.observed = { generation: found.metadata.generation, resourceVersion: found.metadata.resourceVersion };
  d.gauges.set(found, stackMetricValues(found.status ?? {}, stackBackupFacts(found, d.backupsAvailable)));
  return found;
}

async function finalize(d: SconeReconcilerDeps, scone: Scone, rctx: ReconcileContext): Promise<Result> {
  if (!hasFinalizer(scone, SCONE_FINALIZER)) return undefined;
  await uninstallStack(d, scone, rctx);
  await removeFinalizer(d.ctx.kit, scone, SCONE_FINALIZER, rctx);
  return undefined;
}

/** The outcome of a deploy that finished (not waiting for the CAS owner). */
function deployedOutcome(d: SconeReconcilerDeps, scone: Scone, placement: Placement): SconeOutcome {
  const spec = effectiveSpec(scone);
  const skipCas = spec.skipCas === true;
  const found = {
    plugin: d.caches.plugins.get(STACK_NAMES.sgxPlugin) as Stateful | undefined,
    las: d.caches.las.get(STACK_NAMES.las) as Stateful | undefined,
    cas: stackCas(d),
  };
  return {
    kind: "deployed",
    specHash: specHash(scone),
    version: spec.serviceVersion,
    components: stackComponents(found, `${d.ctx.operatorNamespace}/${STACK_NAMES.cas}`, skipCas),
    placement,
    backup: backupCondition(scone, { runnerAvailable: d.backupsAvailable, casManaged: !skipCas, now: d.now() }),
  };
}

/** Apply and report one deploy; a failure is counted and retried (planFailure). */
async function deploy(
  d: SconeReconcilerDeps,
  found: Scone,
  plan: DeployDecision,
  rctx: ReconcileContext,
): Promise<Result> {
  // Adding the finalizer is bookkeeping, not deploying: a conflict here is retried by the queue, not counted.
  let scone = hasFinalizer(found, SCONE_FINALIZER)
    ? found
    : ((await addFinalizer(d.ctx.kit, found, SCONE_FINALIZER, rctx)) as Scone);
  const { working } = plan;
  try {
    if (working !== plan.phase) scone = await report(d, scone, { kind: "progress", phase: working }, rctx);
    const { placement, waitingFor } = await deployStack(d, scone, rctx);
    if (waitingFor) {
      // Not done, not failed: the CAS owner upgrades the CAS; its status change wakes this controller.
      const waiting = { reason: SCONE_REASON.WaitingForCasUpgrade, message: waitingFor };
      await report(d, scone, { kind: "progress", phase: working, waiting }, rctx);
      return { requeueAfterMs: 60_000 };
    }
    await report(d, scone, deployedOutcome(d, scone, placement), rctx);
    const requeueAfterMs = requeueAfterDeploy(placement);
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  } catch (e) {
    const failure = planFailure(errorText(e), scone.status, retryPolicy(d));
    await report(d, scone, failure.outcome, rctx);
    if (failure.terminal) throw new TerminalError(failure.outcome.error);
    return { requeueAfterMs: failure.requeueAfterMs };
  }
}

/** The reconcile: observe → decide (plan.ts) → finalize, report or deploy. */
export const sconeReconciler =
  (d: SconeReconcilerDeps) =>
  async (req: ReconcileRequest, rctx: ReconcileContext): Promise<Result> => {
    const found = await observe(d, req, rctx);
    if (!found) return undefined;
    const primary = primaryOf(d.caches.scones.list() as KubeObject[]);
    const primaryName = primary ? (primary.metadata?.name ?? "") : undefined;
    const decision = decideScone(found, primaryName, effectiveSpec(found).managementState, retryPolicy(d));
    switch (decision.kind) {
      case "finalize":
        return finalize(d, found, rctx);
      case "refuse":
        await report(d, found, { kind: "refused", message: decision.message }, rctx);
        return undefined;
      case "unmanaged":
        await report(d, found, { kind: "unmanaged" }, rctx);
        return undefined;
      case "stopped":
        return undefined;
      case "backoff":
        return { requeueAfterMs: decision.waitMs };
      case "deploy":
        return deploy(d, found, decision, rctx);
    }
  };
