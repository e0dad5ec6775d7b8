// The controllers `scone operator` runs. Each kind's module registers its informers and controller.
import { casClientProbe } from "./cas/client-probe.ts";
import { registerCasController } from "./cas/controller.ts";
import { portForwardAddress } from "./cas-reach.ts";
import { registerLasController } from "./las/controller.ts";
import { defaultPolicyDeps, registerPolicyControllers } from "./policies/controller.ts";
import { registerSgxPluginController } from "./sgxplugin/controller.ts";
import type { OperatorContext } from "./wiring.ts";

export function registerControllers(ctx: OperatorContext): void {
  registerSgxPluginController(ctx);
  registerLasController(ctx);
  // In a pod the CAS Service resolves; elsewhere the CAS is reached through the API server's port-forward.
  const inCluster = Boolean(process.env.KUBERNETES_SERVICE_HOST);
  registerCasController(
    ctx,
    casClientProbe(ctx.client, inCluster ? {} : { resolveAddress: portForwardAddress(ctx.client) }),
  );
  registerPolicyControllers(ctx, defaultPolicyDeps(ctx, { identityFile: process.env.SCONE_POLICY_IDENTITY_FILE }));
}
