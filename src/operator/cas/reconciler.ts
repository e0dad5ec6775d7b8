// The CAS reconcile: observe (caches, relocation, the probe) → plan (plan.ts: upgrade step, objects, placement;
// pure) → apply (apply.ts, unless the admission policy refuses the spec) → report (status.ts, Events, gauges,
// the next look).
import type { CAS } from "../../resources/cas.ts";
import type { ConditionInput } from "../../runtime/conditions.ts";
import type { ReconcileContext, ReconcileRequest, ReconcileResult } from "../../runtime/controller.ts";
import { refusedAtReconcile } from "../admission/namespace.ts";
import { waitForCaches } from "../kit/caches.ts";
import type { ResourceGauges } from "../kit/gauges.ts";
import { addFinalizer, hasFinalizer, writeStatus } from "../reconcile-kit.ts";
import { type ApplyDeps, applyCasObjects, evictFromLostNode, finalizeCas } from "./apply.ts";
import { transitionEvents } from "./events.ts";
import { type CAS_GAUGES, casMetricValues } from "./metrics.ts";
import { CAS_FINALIZER } from "./names.ts";
import { allCaches, askCas, casKey, type ObserveDeps, observeBefore, observeRelocation } from "./observe.ts";
import {
  type CasBefore,
  type CasRound,
  claimsOf,
  nextCasCheck,
  planCasUpgrade,
  podToEvict,
  type RecheckPolicy,
  renderCas,
  shouldProbe,
  statusObservation,
} from "./plan.ts";
import type { CasProbeResult } from "./probe.ts";
import type { Relocation } from "./relocation.ts";
import { casSettings, type RenderOptions } from "./settings.ts";
import { deriveCasStatus } from "./status.ts";

export interface CasReconcilerDeps extends ObserveDeps, ApplyDeps, RecheckPolicy {
  readonly opts: RenderOptions;
  readonly gauges: ResourceGauges<keyof typeof CAS_GAUGES, never>;
  readonly now: () => Date;
  /** The AuditShipped condition of a CAS, from the audit-log shipper (src/operator/audit/shipper.ts). */
  readonly auditShipped?: ((namespace: string, name: string) => ConditionInput | undefined) | undefined;
}

type Result = ReconcileResult | undefined;
/** What planAndApply did: the objects applied, the upgrade step, what the policy refused. */
type Applied = Pick<CasRound, "applied" | "upgrade" | "notAllowed" | "refusedChange">;

/** One round's observation: the objects before the apply, where CAS must be, and what it answered. */
interface CasSeen {
  readonly before: CasBefore;
  readonly relocation: Relocation;
  readonly probe: CasProbeResult | undefined;
  readonly now: Date;
}

async function observe(d: CasReconcilerDeps, cas: CAS, rctx: ReconcileContext): Promise<CasSeen> {
  const now = d.now();
  const before = observeBefore(d.caches, cas);
  const relocation = await observeRelocation(d, { ...before, cas }, now.getTime(), rctx);
  const probe = shouldProbe(before.pod, relocation) ? await askCas(d, cas, rctx) : undefined;
  return { before, relocation, probe, now };
}

/** Plan and apply: nothing is rendered from a spec the admission policy refuses (earlier objects stay). */
async function planAndApply(d: CasReconcilerDeps, cas: CAS, seen: CasSeen, rctx: ReconcileContext): Promise<Applied> {
  const upgrade = planCasUpgrade(cas, casSettings(cas, d.opts), seen.before, seen.probe);
  const notAllowed = await refusedAtReconcile(d.ctx, "CAS", cas, rctx.signal);
  if (notAllowed.length > 0) return { applied: [], upgrade, notAllowed };
  const { desired, refusedChange } = renderCas(cas, d.opts, upgrade, seen.relocation, seen.before.statefulSet);
  const applied = await applyCasObjects(d, cas, desired, rctx);
  const evict = podToEvict(seen.relocation, seen.before.pod);
  if (evict && seen.relocation.kind === "moving") await evictFromLostNode(d, cas, evict, seen.relocation, rctx);
  return { applied, upgrade, notAllowed, refusedChange };
}

/** Status, its Events and gauges; returns when to look again. */
async function report(
  d: CasReconcilerDeps,
  cas: CAS,
  seen: CasSeen,
  round: CasRound,
  rctx: ReconcileContext,
): Promise<ReconcileResult> {
  const s = casSettings(cas, d.opts);
  const observed = statusObservation(cas, s, seen.before, round);
  const status = deriveCasStatus(cas, observed, seen.probe, seen.now, d.opts);
  await writeStatus(d.ctx.kit, cas, status, rctx);
  for (const e of transitionEvents(cas.metadata.name ?? "", cas.status, status))
    d.ctx.kit.events.record(cas, e.type, e.reason, e.message);
  d.gauges.set(cas, casMetricValues(status));
  return nextCasCheck(seen.relocation, status.state, d);
}

async function finalize(d: CasReconcilerDeps, cas: CAS, rctx: ReconcileContext): Promise<Result> {
  d.gauges.remove(cas.metadata.name ?? "", cas.metadata.namespace ?? "");
  d.memory.forget(casKey(cas.metadata.namespace, cas.metadata.name));
  if (hasFinalizer(cas, CAS_FINALIZER)) await finalizeCas(d, cas, rctx);
  return undefined;
}

/** The reconcile of one CAS: observe → plan and apply → report. */
export const casReconciler =
  (d: CasReconcilerDeps) =>
  async (req: ReconcileRequest, rctx: ReconcileContext): Promise<Result> => {
    await waitForCaches(allCaches(d.caches), rctx.signal);
    const found = d.caches.cas.get(req.namespace ?? "", req.name) as CAS | undefined;
    if (!found) {
      d.gauges.remove(req.name, req.namespace ?? "");
      d.memory.forget(casKey(req.namespace, req.name));
      return undefined;
    }
    rctx.observed = { generation: found.metadata.generation, resourceVersion: found.metadata.resourceVersion };
    if (found.metadata.deletionTimestamp) return finalize(d, found, rctx);
    const cas = (await addFinalizer(d.ctx.kit, found, CAS_FINALIZER, rctx)) as CAS;
    const seen = await observe(d, cas, rctx);
    const applied = await planAndApply(d, cas, seen, rctx);
    const ns = cas.metadata.namespace ?? "";
    return report(
      d,
      cas,
      seen,
      {
        ...applied,
        relocation: seen.relocation,
        pvcs: claimsOf(cas, d.caches.pvcs.list(ns)),
        podDeletionBackoffMs: d.podDeletionBackoffMs,
        auditShipped: d.auditShipped?.(ns, cas.metadata.name ?? ""),
      },
      rctx,
    );
  };
