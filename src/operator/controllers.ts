// The controllers `scone operator` runs. Each kind's module registers its informers and controller.
import { registerLasController } from "./las/controller.ts";
import { defaultPolicyDeps, registerPolicyControllers } from "./policies/controller.ts";
import { registerSgxPluginController } from "./sgxplugin/controller.ts";
import type { OperatorContext } from "./wiring.ts";

export function registerControllers(ctx: OperatorContext): void {
  registerSgxPluginController(ctx);
  registerLasController(ctx);
  registerPolicyControllers(ctx, defaultPolicyDeps(ctx, { identityFile: process.env.SCONE_POLICY_IDENTITY_FILE }));
}
