// The controllers `scone operator` runs. Each kind's module registers its informers and controller.

import type { Store } from "../store/open.ts";
import { registerCasController } from "./cas/controller.ts";
import { casDriverProbe, noCliProbe } from "./cas/driver-probe.ts";
import { registerLasController } from "./las/controller.ts";
import { noCasDriver, registerPolicyControllers } from "./policies/controller.ts";
import { registerPullSecretController } from "./pull-secrets/controller.ts";
import { catalogBackupPort } from "./scone/backup-port.ts";
import { registerSconeController } from "./scone/controller.ts";
import { registerSgxPluginController } from "./sgxplugin/controller.ts";
import { registerVaultController } from "./vault/controller.ts";
import type { OperatorContext } from "./wiring.ts";

export function registerControllers(ctx: OperatorContext, deps: { store: Store; stateDir: string }): void {
  registerSgxPluginController(ctx);
  registerLasController(ctx);
  // CAS is asked through the operator's CasDriverSource (a sconecli pod per CAS, or --scone-cli); a context
  // without one says so in status instead of guessing.
  registerCasController(
    ctx,
    ctx.casDriverSource
      ? casDriverProbe(ctx.client, { source: ctx.casDriverSource })
      : noCliProbe("the operator has no SCONE CLI to ask CAS with (a CLI pod, or --scone-cli PATH)"),
  );
  // Policies reach CAS through the CAS driver as the operator's own identity (admitted by the owner).
  registerPolicyControllers(ctx, { source: ctx.casDriverSource ?? noCasDriver });
  registerVaultController(ctx);
  registerPullSecretController(ctx);
  registerSconeController(ctx, {
    backups: catalogBackupPort({ kube: ctx.client, store: deps.store, stateDir: deps.stateDir }),
  });
}
