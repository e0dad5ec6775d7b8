// The runners `scone api` serves: one per operation kind, each running the same CAS flow as the CLI command.
import type { OperationRunners } from "../runner.ts";
import { backupRunner } from "./backup.ts";
import { evictRunner, restoreRunner, upgradeRunner } from "./day2.ts";
import type { CasRunnerDeps } from "./deps.ts";
import { provisionRunner } from "./provision.ts";

export type { CasRunnerDeps } from "./deps.ts";

export function casOperationRunners(deps: CasRunnerDeps): OperationRunners {
  return {
    provision: provisionRunner(deps),
    upgrade: upgradeRunner(deps),
    backup: backupRunner(deps),
    restore: restoreRunner(deps),
    evict: evictRunner(deps),
  };
}
