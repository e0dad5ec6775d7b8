// The controllers `scone operator` runs. Each kind's module registers its informers and controller.

import type { V1Pod } from "@kubernetes/client-node";
import type { Store } from "../store/open.ts";
import { AuditShipper } from "./audit/shipper.ts";
import { registerCasController } from "./cas/controller.ts";
import { casDriverProbe, noCliProbe } from "./cas/driver-probe.ts";
import { APP_NAME_LABEL, CAS_APP, CAS_TYPE } from "./cas/names.ts";
import { POD_TYPE, primaryOf } from "./kit/caches.ts";
import { registerLasController } from "./las/controller.ts";
import { noCasDriver, registerPolicyControllers } from "./policies/controller.ts";
import { registerPullSecretController } from "./pull-secrets/controller.ts";
import { catalogBackupPort, stackBackupTarget } from "./scone/backup-port.ts";
import { registerSconeController } from "./scone/controller.ts";
import { SCONE_TYPE, STACK_NAMES } from "./scone/render.ts";
import { registerSgxPluginController } from "./sgxplugin/controller.ts";
import { registerVaultController } from "./vault/controller.ts";
import type { OperatorContext } from "./wiring.ts";

export function registerControllers(ctx: OperatorContext, deps: { store: Store; stateDir: string }): void {
  registerSgxPluginController(ctx);
  registerLasController(ctx);
  // CAS is asked through the operator's CasDriverSource (a sconecli pod per CAS, or --scone-cli); a context
  // without one says so in status instead of guessing.
  const shipper = ctx.casDriverSource ? auditShipper(ctx, ctx.casDriverSource, deps) : undefined;
  const cas = registerCasController(
    ctx,
    ctx.casDriverSource
      ? casDriverProbe(ctx.client, { source: ctx.casDriverSource })
      : noCliProbe("the operator has no SCONE CLI to ask CAS with (a CLI pod, or --scone-cli PATH)"),
    shipper ? { auditShipped: (ns, name) => shipper.conditionOf(ns, name) } : {},
  );
  if (shipper) {
    shipper.onChange = (ref) => cas.enqueue(ref);
    ctx.manager.add(shipper);
  }
  // Policies reach CAS through the CAS driver as the operator's own identity (admitted by the owner).
  registerPolicyControllers(ctx, { source: ctx.casDriverSource ?? noCasDriver });
  registerVaultController(ctx);
  registerPullSecretController(ctx);
  registerSconeController(ctx, {
    backups: catalogBackupPort({ kube: ctx.client, store: deps.store, stateDir: deps.stateDir }),
  });
}

/**
 * Ships every CAS's audit log (issue 14) to the Scone stack's backup target — its bucket when spec.backup.s3Creds is
 * set, else the operator's backup volume — below _audit/ (src/flows/audit/archive/layout.ts). Without a SCONE CLI
 * there is nothing to verify the chain with, so nothing is shipped.
 */
function auditShipper(
  ctx: OperatorContext,
  source: NonNullable<OperatorContext["casDriverSource"]>,
  deps: { store: Store; stateDir: string },
): AuditShipper {
  const casList = ctx.informers.informer({ type: CAS_TYPE });
  const scones = ctx.informers.informer({ type: SCONE_TYPE });
  // The CAS controller's informer of CAS pods (same scope, so the same cache): no GET per pod look.
  const casPods = ctx.informers.informer({ type: POD_TYPE, labelSelector: `${APP_NAME_LABEL}=${CAS_APP}` });
  return new AuditShipper({
    kube: ctx.client,
    pods: (namespace, name) => (casPods.hasSynced() ? (casPods.get(namespace, name) as V1Pod | undefined) : undefined),
    casList: () => (casList.hasSynced() ? casList.list() : []),
    target: () => {
      const s3 = (primaryOf(scones.list()) as { spec?: { backup?: { s3Creds?: unknown } } } | undefined)?.spec?.backup
        ?.s3Creds;
      return stackBackupTarget(
        ctx.client,
        deps.stateDir,
        s3 ? { namespace: ctx.operatorNamespace, name: STACK_NAMES.backupCredentials } : undefined,
      );
    },
    source,
    metrics: ctx.manager.metrics,
    events: ctx.kit.events,
    log: ctx.log.child({ component: "audit-shipper" }),
    store: deps.store,
  });
}
