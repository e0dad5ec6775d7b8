// The controllers `scone operator` runs. Each kind's module registers its informers and controller.

import type { CasDriverSource } from "../cas/driver/reach.ts";
import type { Store } from "../store/open.ts";
import { registerCasController } from "./cas/controller.ts";
import { casDriverProbe, noCliProbe } from "./cas/driver-probe.ts";
import { registerLasController } from "./las/controller.ts";
import { defaultPolicyDeps, registerPolicyControllers } from "./policies/controller.ts";
import { catalogBackupPort } from "./scone/backup-port.ts";
import { registerSconeController } from "./scone/controller.ts";
import { registerSgxPluginController } from "./sgxplugin/controller.ts";
import { registerVaultController } from "./vault/controller.ts";
import type { OperatorContext } from "./wiring.ts";

export interface ControllerDeps {
  readonly store: Store;
  readonly stateDir: string;
  /** How the operator reaches a CAS (the SCONE CLI, src/cas/driver/reach.ts); without one, CAS status says so. */
  readonly casDrivers?: CasDriverSource;
}

export function registerControllers(ctx: OperatorContext, deps: ControllerDeps): void {
  registerSgxPluginController(ctx);
  registerLasController(ctx);
  registerCasController(
    ctx,
    deps.casDrivers
      ? casDriverProbe(ctx.client, { source: deps.casDrivers })
      : noCliProbe("the operator has no SCONE CLI to ask CAS with (a CLI pod, or --scone-cli PATH)"),
  );
  registerPolicyControllers(ctx, defaultPolicyDeps(ctx, { identityFile: process.env.SCONE_POLICY_IDENTITY_FILE }));
  registerVaultController(ctx);
  registerSconeController(ctx, {
    backups: catalogBackupPort({ kube: ctx.client, store: deps.store, stateDir: deps.stateDir }),
  });
}
