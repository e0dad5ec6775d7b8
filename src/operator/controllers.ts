// The controllers `scone operator` runs. Each kind's module registers its informers and controller.
import type { OperatorContext } from "./wiring.ts";

export function registerControllers(_ctx: OperatorContext): void {
  // Filled in as the kinds' controllers land (LAS, SGXPlugin, CAS, policies, Vault, Scone).
}
