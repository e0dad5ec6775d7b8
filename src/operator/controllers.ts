// The controllers `scone operator` runs. Each kind's module registers its informers and controller.

import type { Store } from "../store/open.ts";
import { casClientProbe } from "./cas/client-probe.ts";
import { registerCasController } from "./cas/controller.ts";
import { portForwardAddress } from "./cas-reach.ts";
import { registerLasController } from "./las/controller.ts";
import { noCasDriver, registerPolicyControllers } from "./policies/controller.ts";
import { catalogBackupPort } from "./scone/backup-port.ts";
import { registerSconeController } from "./scone/controller.ts";
import { registerSgxPluginController } from "./sgxplugin/controller.ts";
import { registerVaultController } from "./vault/controller.ts";
import type { OperatorContext } from "./wiring.ts";

export function registerControllers(ctx: OperatorContext, deps: { store: Store; stateDir: string }): void {
  registerSgxPluginController(ctx);
  registerLasController(ctx);
  // In a pod the CAS Service resolves; elsewhere the CAS is reached through the API server's port-forward.
  const inCluster = Boolean(process.env.KUBERNETES_SERVICE_HOST);
  registerCasController(
    ctx,
    casClientProbe(ctx.client, inCluster ? {} : { resolveAddress: portForwardAddress(ctx.client) }),
  );
  // Policies reach CAS through the CAS driver as the operator's own identity (admitted by the owner).
  registerPolicyControllers(ctx, { source: ctx.casDriverSource ?? noCasDriver });
  registerVaultController(ctx);
  registerSconeController(ctx, {
    backups: catalogBackupPort({ kube: ctx.client, store: deps.store, stateDir: deps.stateDir }),
  });
}
