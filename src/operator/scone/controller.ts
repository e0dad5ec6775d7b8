// The Scone stack controller (cluster-scoped Scone, confidential.security.osc.t-systems.com/v1alpha1): one resource
// keeps the SCONE stack the operator manages — SGXPlugin `sgxplugin`, LAS `las` and, unless skipCas, an unprovisioned
// CAS `cas` in the operator namespace — created as custom resources that their own controllers reconcile; the
// operator Deployment's node selector; the backup credentials copy; scheduled CAS database backups (backup-runner).
//
// This file only wires: caches, the reconciler (reconciler.ts: observe → plan → apply → report), watches and the
// backup runner. Rules that keep data safe (apply.ts):
//   - The CAS is created once and then left to its owner: provisioning patches it (backup controller, probes) and
//     upgrades are owner-only (`scone cas provision --upgrade`), so the stack never re-applies it.
//   - Removing the CAS (skipCas, deletion) never removes its PVCs (the CAS database) or backups; an Event says so.
//   - Unmanaged: no change at all to the stack (manual CAS recovery), only the status says so.
import type { KubeObject } from "../../kube/types.ts";
import { SCONE_MAX_RETRIES } from "../../resources/scone.ts";
import { Controller } from "../../runtime/controller.ts";
import { cacheOwned, everyResource } from "../kit/caches.ts";
import { ResourceGauges } from "../kit/gauges.ts";
import { MANAGED_SELECTOR, type OperatorContext, watchMapped, watchOwned } from "../wiring.ts";
import { type StackCaches, stackCas } from "./apply.ts";
import { type StackBackupPort, StackBackupRunner } from "./backup-runner.ts";
import { sconeReconciler } from "./reconciler.ts";
import { SCONE_TYPE, SECRET_TYPE, STACK_CAS_TYPE, STACK_LAS_TYPE, STACK_SGXPLUGIN_TYPE } from "./render.ts";
import { STACK_GAUGES } from "./status.ts";

export { SCONE_FINALIZER } from "./reconciler.ts";

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

const randomNonce = (): string =>
  Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

function stackCaches(ctx: OperatorContext): StackCaches {
  return {
    scones: ctx.informers.informer<KubeObject>({ type: SCONE_TYPE }),
    // Shared with the stack kinds' own controllers' informers: one of each per cluster.
    las: cacheOwned(ctx, { type: STACK_LAS_TYPE }),
    plugins: cacheOwned(ctx, { type: STACK_SGXPLUGIN_TYPE }),
    cas: cacheOwned(ctx, { type: STACK_CAS_TYPE }),
    secrets: cacheOwned(ctx, { type: SECRET_TYPE, namespace: ctx.operatorNamespace, labelSelector: MANAGED_SELECTOR }),
  };
}

/** Wires the Scone controller: caches, reconciler, watches and (with a backup port) the backup runner. */
export function setupSconeController(ctx: OperatorContext, options: SconeControllerOptions = {}): Controller {
  const caches = stackCaches(ctx);
  const deps = {
    ctx,
    caches,
    gauges: new ResourceGauges(ctx.manager.metrics, STACK_GAUGES, {}),
    now: options.now ?? (() => new Date()),
    maxRetries: options.maxRetries ?? SCONE_MAX_RETRIES,
    retryBaseMs: options.retryBaseMs ?? 5_000,
    backupsAvailable: options.backups !== undefined,
    settings: {
      newNonce: options.newNonce ?? randomNonce,
      // The mirror the operator runs with (SCONE_IMAGE_REGISTRY/PREFIX), unless the caller names another.
      imageRepo: options.imageRepo ?? ctx.imageMirror?.imageRepo,
      imagePrefix: options.imagePrefix ?? ctx.imageMirror?.imagePrefix,
    },
  };
  const controller = new Controller({
    name: "scone",
    reconcile: sconeReconciler(deps),
    metrics: ctx.manager.metrics,
    onRecord: ctx.recordHistory,
    workers: 1,
  });
  // Any Scone event may hand the stack over (the oldest is the primary): look at every Scone.
  watchMapped(controller, caches.scones, everyResource(caches.scones));
  for (const inf of [caches.las, caches.plugins, caches.cas, caches.secrets])
    watchOwned(controller, inf, SCONE_TYPE, false);
  ctx.manager.addController(controller);
  if (options.backups) {
    ctx.manager.add(
      new StackBackupRunner({
        port: options.backups,
        scones: caches.scones,
        client: ctx.client,
        events: ctx.kit.events,
        log: ctx.log.child({ component: "scone-backups" }),
        namespace: ctx.operatorNamespace,
        casReady: () => stackCas(deps)?.status?.provisioned === "Yes",
        ...(options.backupRetryMs !== undefined ? { failureRetryMs: options.backupRetryMs } : {}),
        ...(options.backupCheckMs !== undefined ? { maxSleepMs: options.backupCheckMs } : {}),
      }),
    );
  }
  return controller;
}

/** The name the operator's controller list and the tests use. */
export const registerSconeController = setupSconeController;
