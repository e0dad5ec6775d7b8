// The Scone stack controller (cluster-scoped Scone, confidential.security.osc.t-systems.com/v1alpha1): one resource
// keeps the SCONE stack the operator manages — SGXPlugin `sgxplugin`, LAS `las` and, unless skipCas, an unprovisioned
// CAS `cas` in the operator namespace — created as custom resources that their own controllers reconcile; the
// operator Deployment's node selector; the backup credentials copy; scheduled CAS database backups (backup-runner).
//
// Phases follow phase.ts. Failures count in status.retryCount and are retried with backoff; after SCONE_MAX_RETRIES
// in a row the controller stops (a TerminalError in the history) and waits for a change of the resource.
// Rules that keep data safe:
//   - The CAS is created once and then left to its owner: provisioning patches it (backup controller, probes) and
//     upgrades are owner-only (`scone cas provision --upgrade`), so the stack never re-applies it.
//   - Removing the CAS (skipCas, deletion) never removes its PVCs (the CAS database) or backups; an Event says so.
//   - Unmanaged: no change at all to the stack (manual CAS recovery), only the status says so.
import type { V1Deployment, V1Secret } from "@kubernetes/client-node";
import { DEPLOYMENT_NAME } from "../../install/names.ts";
import { secretsForbiddenHint } from "../../install/rbac.ts";
import type { Informer } from "../../kube/informer.ts";
import type { KubeObject, ObjectRef } from "../../kube/types.ts";
import { SCONE_MAX_RETRIES, type Scone, type SconePhase } from "../../resources/scone.ts";
import {
  Controller,
  type ReconcileContext,
  type ReconcileRequest,
  type ReconcileResult,
  TerminalError,
} from "../../runtime/controller.ts";
import { addFinalizer, applyOwned, hasFinalizer, refOfObject, removeFinalizer, writeStatus } from "../reconcile-kit.ts";
import {
  cacheOwned,
  everyResource,
  primaryOf,
  ResourceGauges,
  waitForCaches,
} from "../sgxplugin/controller-support.ts";
import { MANAGED_SELECTOR, type OperatorContext, watchMapped, watchOwned } from "../wiring.ts";
import { type StackBackupPort, StackBackupRunner } from "./backup-runner.ts";
import { backupCondition, DEFAULT_BACKUP_INTERVAL_SECONDS, lastBackupOf } from "./backup-schedule.ts";
import { PLACEMENT_FIELD_MANAGER, placementApply } from "./operator-placement.ts";
import { afterFailure, nextSconePhase, retryDelayMs, retryWaitMs, type SconeEvent, waitingMessage } from "./phase.ts";
import {
  effectiveSpec,
  renderStack,
  renderUnprovisionedCas,
  SCONE_TYPE,
  SECRET_TYPE,
  STACK_CAS_TYPE,
  STACK_LAS_TYPE,
  STACK_NAMES,
  STACK_SGXPLUGIN_TYPE,
  specHash,
} from "./render.ts";
import {
  type ComponentState,
  type Placement,
  type SconeOutcome,
  STACK_GAUGES,
  type StackBackupFacts,
  sconeStatusAfter,
  stackMetricValues,
} from "./status.ts";
import { nodeAgentVersion } from "./upgrade.ts";

export const SCONE_FINALIZER = "confidential.security.osc.t-systems.com/finalizer";
const DEPLOYMENT_TYPE = { apiVersion: "apps/v1", kind: "Deployment" } as const;

export interface SconeControllerOptions {
  /** First retry delay after a failure; doubles per failure (default 5 s). */
  readonly retryBaseMs?: number;
  /** Failed attempts in a row before the controller waits for a change (default SCONE_MAX_RETRIES). */
  readonly maxRetries?: number;
  /** The effect of scheduled backups (catalogBackupPort over src/backup); without it, none are taken. */
  readonly backups?: StackBackupPort;
  /** Wait after a failed scheduled backup (default 5 min). */
  readonly backupRetryMs?: number;
  /** Longest wait between two looks at the backup schedule (default 60 s). */
  readonly backupCheckMs?: number;
  readonly imageRepo?: string;
  readonly imagePrefix?: string;
  readonly now?: () => Date;
  readonly newNonce?: () => string;
}

type Stateful = KubeObject & { status?: { state?: string; phase?: string; provisioned?: string; version?: string } };

const randomNonce = (): string =>
  Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const isOwnedBy = (o: KubeObject | undefined, uid: string | undefined): boolean =>
  !!o && !!uid && (o.metadata?.ownerReferences ?? []).some((r) => r.uid === uid);

/** The error of one step, naming what the step was. */
class StepError extends Error {
  constructor(step: string, cause: unknown) {
    super(`${step}: ${errorText(cause)}`);
  }
}

async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw new StepError(what, e);
  }
}

export function registerSconeController(ctx: OperatorContext, options: SconeControllerOptions = {}): Controller {
  const namespace = ctx.operatorNamespace;
  const now = options.now ?? (() => new Date());
  const maxRetries = options.maxRetries ?? SCONE_MAX_RETRIES;
  const retryBaseMs = options.retryBaseMs ?? 5_000;
  const newNonce = options.newNonce ?? randomNonce;
  // The mirror the operator runs with (SCONE_IMAGE_REGISTRY/PREFIX), unless the caller names another.
  const imageRepo = options.imageRepo ?? ctx.imageMirror?.imageRepo;
  const imagePrefix = options.imagePrefix ?? ctx.imageMirror?.imagePrefix;
  const kit = ctx.kit;

  const scones = ctx.informers.informer<KubeObject>({ type: SCONE_TYPE });
  // The stack kinds are cached whole (shared with their own controllers' informers): one of each per cluster.
  const cacheKind = (type: typeof STACK_LAS_TYPE) => cacheOwned(ctx, { type });
  const lasList = cacheKind(STACK_LAS_TYPE);
  const pluginList = cacheKind(STACK_SGXPLUGIN_TYPE);
  const casList = cacheKind(STACK_CAS_TYPE);
  // The stack's Secret lives in the operator's namespace, the only one where the operator may read Secrets by default.
  const secrets = cacheOwned(ctx, { type: SECRET_TYPE, namespace, labelSelector: MANAGED_SELECTOR });
  const caches: Informer<KubeObject>[] = [scones, lasList, pluginList, casList, secrets];

  const casRef: ObjectRef = { ...STACK_CAS_TYPE, namespace, name: STACK_NAMES.cas };
  const gauges = new ResourceGauges(ctx.manager.metrics, STACK_GAUGES, {});
  const backupsAvailable = options.backups !== undefined;
  // What the backup-overdue alert compares: no schedule (interval 0) when the stack takes no backups.
  const backupFacts = (scone: Scone): StackBackupFacts => ({
    lastCompleted: lastBackupOf(scone),
    intervalSeconds:
      backupsAvailable && !scone.spec?.skipCas ? (scone.spec?.backup?.interval ?? DEFAULT_BACKUP_INTERVAL_SECONDS) : 0,
  });

  const setStatus = async (scone: Scone, outcome: SconeOutcome, rctx: ReconcileContext): Promise<Scone> => {
    const status = sconeStatusAfter(outcome, {
      previous: scone.status,
      generation: scone.metadata.generation,
      now: now(),
    });
    await writeStatus(kit, scone, status, rctx);
    gauges.set(scone, stackMetricValues(status, backupFacts(scone)));
    const before = scone.status?.phase ?? "Empty";
    if (status.phase && status.phase !== before)
      kit.events.record(
        scone,
        status.phase === "Error" ? "Warning" : "Normal",
        "PhaseChanged",
        `${before} → ${status.phase}${outcome.kind === "failed" ? `: ${outcome.error}` : ""}`,
      );
    return { ...scone, status };
  };

  /** What the stack manages, as the caches show it; with skipCas a CAS still being deleted is no longer one. */
  const components = (skipCas: boolean): ComponentState[] => {
    const state = (label: string, o: Stateful | undefined, detail?: string): ComponentState => ({
      name: label,
      state: o ? o.status?.state : "absent",
      ...(detail ? { detail } : {}),
    });
    const cas = skipCas ? undefined : (casList.get(namespace, STACK_NAMES.cas) as Stateful | undefined);
    return [
      state("SGXPlugin", pluginList.get(STACK_NAMES.sgxPlugin) as Stateful | undefined),
      state("LAS", lasList.get(STACK_NAMES.las) as Stateful | undefined),
      ...(cas
        ? [{ ...state(`CAS ${namespace}/${STACK_NAMES.cas}`, cas, cas.status?.phase), informational: true }]
        : []),
    ];
  };

  /** spec.operatorNodeSelector on the operator Deployment when it runs in the cluster; else only recorded. */
  const place = async (scone: Scone, rctx: ReconcileContext): Promise<Placement> => {
    const selector = effectiveSpec(scone).operatorNodeSelector;
    const ref = { ...DEPLOYMENT_TYPE, namespace, name: DEPLOYMENT_NAME };
    const deployment = await ctx.client.tryGet<V1Deployment>(ref);
    const hasSelector = selector !== undefined && Object.keys(selector).length > 0;
    if (!deployment)
      return hasSelector
        ? {
            kind: "recorded",
            reason: `no Deployment ${namespace}/${DEPLOYMENT_NAME} (the operator runs outside the cluster): operatorNodeSelector is applied once it exists`,
          }
        : { kind: "none" };
    const body = placementApply(deployment, selector);
    if (body) {
      await step(`operatorNodeSelector: Deployment ${namespace}/${DEPLOYMENT_NAME} refused it`, () =>
        ctx.client.apply(body, { force: true, fieldManager: PLACEMENT_FIELD_MANAGER, signal: rctx.signal }),
      );
      rctx.actions.push(`set node selector of Deployment ${namespace}/${DEPLOYMENT_NAME}`);
    }
    return hasSelector ? { kind: "applied", deployment: `${namespace}/${DEPLOYMENT_NAME}` } : { kind: "none" };
  };

  /** Removes the stack's CAS resource (never its PVCs or backups) and says so. */
  const removeCas = async (scone: Scone, why: string, rctx: ReconcileContext): Promise<boolean> => {
    const cas = casList.get(namespace, STACK_NAMES.cas);
    if (!isOwnedBy(cas, scone.metadata.uid) || cas?.metadata?.deletionTimestamp) return false;
    if (!(await ctx.client.deleteIfExists(casRef, { signal: rctx.signal }))) return false;
    rctx.actions.push(`delete CAS ${namespace}/${STACK_NAMES.cas}`);
    kit.events.record(
      scone,
      "Normal",
      "CasRemoved",
      `CAS ${namespace}/${STACK_NAMES.cas} removed (${why}); its PVCs (the CAS database, snapshots) and backups are kept`,
    );
    return true;
  };

  /** Applies the whole stack; throws a StepError naming the step that failed. */
  const deploy = async (
    scone: Scone,
    rctx: ReconcileContext,
  ): Promise<{ placement: Placement; waitingFor?: string }> => {
    const spec = effectiveSpec(scone);
    const installedCas = casList.get(namespace, STACK_NAMES.cas) as Stateful | undefined;
    const agents = nodeAgentVersion(scone, spec.serviceVersion, installedCas?.status, {
      namespace,
      name: STACK_NAMES.cas,
    });
    const existingLas = lasList.get(STACK_NAMES.las) as (KubeObject & { spec?: { dcapKey?: string } }) | undefined;
    const s3 = spec.backup?.s3Creds;
    let backupCredentials: V1Secret | undefined;
    if (s3) {
      backupCredentials = await step("spec.backup.s3Creds", async () => {
        const found = await ctx.client
          .tryGet<V1Secret>({ ...SECRET_TYPE, namespace: s3.namespace, name: s3.secret })
          .catch((err: unknown) => {
            const hint = secretsForbiddenHint(err, namespace);
            throw hint ? new Error(hint) : err;
          });
        if (!found) throw new Error(`Secret ${s3.namespace}/${s3.secret} not found; create it or remove s3Creds`);
        return found;
      });
    }
    const renderOpts = {
      namespace,
      casNonce: "",
      ...(imageRepo ? { imageRepo } : {}),
      ...(imagePrefix ? { imagePrefix } : {}),
      ...(ctx.imageMirror?.imageDigests ? { imageDigests: ctx.imageMirror.imageDigests } : {}),
      ...(existingLas?.spec?.dcapKey ? { existingDcapKey: existingLas.spec.dcapKey } : {}),
      ...(backupCredentials ? { backupCredentials } : {}),
      nodeAgentVersion: agents.version,
    };
    const desired = renderStack(scone, renderOpts);
    await step("applying SGXPlugin, LAS", () => applyOwned(kit, scone, desired, rctx));
    // The credentials copy once s3Creds is gone.
    if (!backupCredentials) {
      const copy = secrets.get(namespace, STACK_NAMES.backupCredentials);
      if (isOwnedBy(copy, scone.metadata.uid) && copy) {
        await ctx.client.deleteIfExists(refOfObject(copy), { signal: rctx.signal });
        rctx.actions.push(`delete Secret ${namespace}/${STACK_NAMES.backupCredentials}`);
      }
    }
    if (spec.skipCas) await removeCas(scone, "skipCas is set", rctx);
    else if (!casList.get(namespace, STACK_NAMES.cas)) {
      const cas = renderUnprovisionedCas(scone, { ...renderOpts, casNonce: newNonce() });
      await step(`creating CAS ${namespace}/${STACK_NAMES.cas}`, () => applyOwned(kit, scone, [cas], rctx));
      kit.events.record(scone, "Normal", "CasCreated", `unprovisioned CAS ${namespace}/${STACK_NAMES.cas} created`);
    }
    const placement = await place(scone, rctx);
    return agents.waitingFor ? { placement, waitingFor: agents.waitingFor } : { placement };
  };

  const finalize = async (scone: Scone, rctx: ReconcileContext): Promise<undefined> => {
    if (!hasFinalizer(scone, SCONE_FINALIZER)) return undefined;
    const uid = scone.metadata.uid;
    const removed: string[] = [];
    for (const [ref, obj] of [
      [{ ...STACK_LAS_TYPE, name: STACK_NAMES.las }, lasList.get(STACK_NAMES.las)],
      [{ ...STACK_SGXPLUGIN_TYPE, name: STACK_NAMES.sgxPlugin }, pluginList.get(STACK_NAMES.sgxPlugin)],
      [
        { ...SECRET_TYPE, namespace, name: STACK_NAMES.backupCredentials },
        secrets.get(namespace, STACK_NAMES.backupCredentials),
      ],
    ] as const) {
      if (isOwnedBy(obj, uid) && (await ctx.client.deleteIfExists(ref, { signal: rctx.signal })))
        removed.push(`${ref.kind} ${ref.name}`);
    }
    const casRemoved = await removeCas(scone, "the stack is deleted", rctx);
    rctx.actions.push(...removed.map((r) => `delete ${r}`));
    kit.events.record(
      scone,
      "Normal",
      "Uninstalled",
      `removed ${[...removed, ...(casRemoved ? [`CAS ${namespace}/${STACK_NAMES.cas}`] : [])].join(", ") || "nothing"}; kept: the CAS database PVCs, snapshots and the backup bucket`,
    );
    await removeFinalizer(kit, scone, SCONE_FINALIZER, rctx);
    return undefined;
  };

  const reconcile = async (req: ReconcileRequest, rctx: ReconcileContext): Promise<ReconcileResult | undefined> => {
    await waitForCaches(caches, rctx.signal);
    const found = scones.get(req.name) as Scone | undefined;
    if (!found) {
      gauges.remove(req.name);
      return undefined;
    }
    rctx.observed = { generation: found.metadata.generation, resourceVersion: found.metadata.resourceVersion };
    gauges.set(found, stackMetricValues(found.status ?? {}, backupFacts(found)));
    if (found.metadata.deletionTimestamp) return finalize(found, rctx);
    // One stack per cluster: the objects have fixed names, two Scones would fight over them.
    const primary = primaryOf(scones.list());
    if (primary && primary.metadata?.name !== found.metadata.name) {
      const message = `Scone ${primary.metadata?.name} is this cluster's stack; a second Scone is not reconciled`;
      await setStatus(found, { kind: "refused", message }, rctx);
      return undefined;
    }
    const spec = effectiveSpec(found);
    if (spec.managementState === "Unmanaged") {
      await setStatus(found, { kind: "unmanaged" }, rctx);
      return undefined;
    }

    const prev = found.status;
    const phase: SconePhase = prev?.phase ?? "Empty";
    const changed = prev?.observedGeneration !== found.metadata.generation;
    // Stopped after the last allowed failure: only a change of the resource starts it again.
    if (phase === "Error" && !changed) {
      if ((prev?.retryCount ?? 0) >= maxRetries) return undefined;
      // Our own status write wakes us at once: keep the backoff since the last failure.
      const wait = retryWaitMs(prev, retryBaseMs, now());
      if (wait > 0) return { requeueAfterMs: wait };
    }

    // Adding the finalizer is bookkeeping, not deploying: a conflict here is retried by the queue, not counted.
    let scone = hasFinalizer(found, SCONE_FINALIZER)
      ? found
      : ((await addFinalizer(kit, found, SCONE_FINALIZER, rctx)) as Scone);
    try {
      let event: SconeEvent | undefined;
      if (phase === "Empty") event = "finalizerAdded";
      else if (phase === "Error") event = changed ? "specChanged" : "retry";
      else if (prev?.deployedSpec !== specHash(scone)) event = "specChanged";
      const working = event ? nextSconePhase(phase, event) : phase;
      if (working !== phase) scone = await setStatus(scone, { kind: "progress", phase: working }, rctx);

      const { placement, waitingFor } = await deploy(scone, rctx);
      if (waitingFor) {
        // Not done, not failed: the CAS owner upgrades the CAS; its status change wakes this controller.
        await setStatus(
          scone,
          { kind: "progress", phase: working, waiting: { reason: "WaitingForCasUpgrade", message: waitingFor } },
          rctx,
        );
        return { requeueAfterMs: 60_000 };
      }
      const backup = backupCondition(scone, {
        runnerAvailable: backupsAvailable,
        casManaged: !spec.skipCas,
        now: now(),
      });
      await setStatus(
        scone,
        {
          kind: "deployed",
          specHash: specHash(scone),
          version: spec.serviceVersion,
          components: components(spec.skipCas === true),
          placement,
          backup,
        },
        rctx,
      );
      // The operator Deployment is not watched: look again now and then for the one the selector waits for.
      return placement.kind === "recorded" ? { requeueAfterMs: 5 * 60_000 } : undefined;
    } catch (e) {
      const message = errorText(e);
      const { retryCount, waiting } = afterFailure(scone.status?.retryCount, maxRetries);
      const error = waiting ? waitingMessage(message, maxRetries) : message;
      await setStatus(scone, { kind: "failed", error, retryCount, waiting }, rctx);
      if (waiting) throw new TerminalError(error);
      return { requeueAfterMs: retryDelayMs(retryCount, retryBaseMs) };
    }
  };

  const controller = new Controller({
    name: "scone",
    reconcile,
    metrics: ctx.manager.metrics,
    onRecord: ctx.recordHistory,
    workers: 1,
  });
  // Any Scone event may hand the stack over (the oldest is the primary): look at every Scone.
  watchMapped(controller, scones, everyResource(scones));
  for (const inf of [lasList, pluginList, casList, secrets]) watchOwned(controller, inf, SCONE_TYPE, false);
  ctx.manager.addController(controller);
  if (options.backups) {
    ctx.manager.add(
      new StackBackupRunner({
        port: options.backups,
        scones,
        client: ctx.client,
        events: kit.events,
        log: ctx.log.child({ component: "scone-backups" }),
        namespace,
        casReady: () =>
          (casList.get(namespace, STACK_NAMES.cas) as Stateful | undefined)?.status?.provisioned === "Yes",
        ...(options.backupRetryMs !== undefined ? { failureRetryMs: options.backupRetryMs } : {}),
        ...(options.backupCheckMs !== undefined ? { maxSleepMs: options.backupCheckMs } : {}),
      }),
    );
  }
  return controller;
}
