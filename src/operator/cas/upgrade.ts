// Upgrade safety (pure). A new CAS image re-seals the database on start; if the new CAS cannot run, only a registered
// backup/upgrade CAS can open the database again. So on a provisioned CAS a new image rolls out only when that is
// safe — the backup controller is enabled and every migration node is registered (n/n) — or when the user forces it
// (annotation cas.scone.cloud/force-upgrade=true), and always in upstream's order (§10.4): backup controller, then CAS,
// then the safety service. Until then the StatefulSet keeps the running image and the status says why.
import type { V1Deployment, V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import { CAS_REASON } from "../../resources/cas-conditions.ts";
import { isPodReady } from "../node-agent/node-facts.ts";
import { CAS_CONTAINER, FORCE_UPGRADE_ANNOTATION } from "./names.ts";
import type { Provisioned } from "./probe.ts";
import type { CasRenderPlan } from "./render.ts";
import type { CasSettings } from "./settings.ts";

export type UpgradeStep = "none" | "backup-controller" | "cas" | "safety-service";

export interface UpgradePlan extends CasRenderPlan {
  /** The step in progress ("none": nothing to upgrade, or no gating needed). */
  readonly step: UpgradeStep;
  /** Why the CAS image is held back (reason code and message); undefined when it is not. */
  readonly blocked?: { readonly reason: string; readonly message: string };
  /** Rolled out although unsafe, because of the force annotation: what would have held it back. */
  readonly forced?: string;
}

export interface UpgradeInput {
  readonly settings: CasSettings;
  readonly provisioned: Provisioned | undefined;
  /** Every migration node has a registered backup (numMigratableNodes == desiredNumMigratableNodes > 0). */
  readonly migrationComplete: boolean;
  readonly migrationRatio: string;
  /** Per migration node: registered for the target version (its `cas-registered-…-<version>` label, nodes.ts). */
  readonly registrations: readonly boolean[];
  readonly statefulSet: V1StatefulSet | undefined;
  readonly pod: V1Pod | undefined;
  readonly backupController: V1Deployment | undefined;
  readonly safetyService: V1Deployment | undefined;
}

const containerImage = (
  spec: { template?: { spec?: { containers?: { name: string; image?: string }[] } } } | undefined,
  name?: string,
): string | undefined => {
  const containers = spec?.template?.spec?.containers ?? [];
  return (name ? containers.find((c) => c.name === name) : containers[0])?.image;
};

export const runningCasImage = (sts: V1StatefulSet | undefined): string | undefined =>
  containerImage(sts?.spec, CAS_CONTAINER);

/** The Deployment runs `image` everywhere: its controller saw the latest spec and an available pod runs it. */
export function deploymentRolledOut(d: V1Deployment | undefined, image: string): boolean {
  if (!d || containerImage(d.spec) !== image) return false;
  const s = d.status;
  if (!s || (s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return false;
  const want = d.spec?.replicas ?? 1;
  return (s.updatedReplicas ?? 0) >= want && (s.availableReplicas ?? 0) >= 1 && (s.replicas ?? 0) <= want;
}

const envValue = (d: V1Deployment | undefined, name: string): string | undefined =>
  d?.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === name)?.value;

export function planUpgrade(input: UpgradeInput): UpgradePlan {
  const s = input.settings;
  const target = s.image;
  const running = runningCasImage(input.statefulSet);
  const all = {
    casImage: target,
    backupControllerImage: s.backupController.image,
    safetyServiceImage: s.safetyService.image,
  };
  // Nothing runs yet, nothing changes, or nothing to lose (an unprovisioned CAS holds no secrets yet).
  if (running === undefined || running === target || input.provisioned !== "Yes") return { ...all, step: "none" };

  const holdSafety = containerImage(input.safetyService?.spec) ?? s.safetyService.image;
  const hold = (step: UpgradeStep, reason: string, message: string): UpgradePlan => ({
    casImage: running,
    backupControllerImage: s.backupController.image,
    safetyServiceImage: holdSafety,
    step,
    blocked: { reason, message: `CAS keeps running ${running}: ${message}` },
  });

  const gate = upgradeGate(input);
  if (gate && !s.forceUpgrade) return hold(gate.step, gate.reason, gate.message);
  const forced = gate ? { forced: gate.message } : {};
  // CAS goes now; the safety service follows once CAS runs the new image.
  const casDone = input.pod !== undefined && isPodReady(input.pod) && podCasImage(input.pod) === target;
  return casDone
    ? { ...all, step: "safety-service", ...forced }
    : { ...all, safetyServiceImage: holdSafety, step: "cas", ...forced };
}

/** What makes an upgrade of a provisioned CAS unsafe right now (undefined: it is safe). */
function upgradeGate(input: UpgradeInput): { step: UpgradeStep; reason: string; message: string } | undefined {
  const s = input.settings;
  const target = s.image;
  if (!s.backupController.enabled)
    return {
      step: "none",
      reason: CAS_REASON.BackupControllerDisabled,
      message: `upgrading to ${target} needs registered backups (enable spec.backup-controller) or the annotation ${FORCE_UPGRADE_ANNOTATION}=true`,
    };
  const bc = input.backupController;
  if (!deploymentRolledOut(bc, s.backupController.image) || envValue(bc, "BACKUP_CAS_IMAGE") !== target)
    return {
      step: "backup-controller",
      reason: CAS_REASON.WaitingForBackupController,
      message: `waiting for the backup controller (${s.backupController.image}) to run with BACKUP_CAS_IMAGE ${target}`,
    };
  if (!input.migrationComplete)
    return {
      step: "backup-controller",
      reason: CAS_REASON.MigrationIncomplete,
      message: `migration is ${input.migrationRatio}; every migration node must have a registered backup before upgrading to ${target} (or set ${FORCE_UPGRADE_ANNOTATION}=true)`,
    };
  // The registration label names the version: a node registered only for the old image does not count.
  const fresh = input.registrations.filter((registered) => registered);
  if (fresh.length < input.registrations.length)
    return {
      step: "backup-controller",
      reason: CAS_REASON.WaitingForRegistrations,
      message: `waiting for the backup controller to register ${target} on every migration node (${fresh.length} of ${input.registrations.length} registered for that version)`,
    };
  return undefined;
}

const podCasImage = (pod: V1Pod): string | undefined =>
  pod.spec?.containers.find((c) => c.name === CAS_CONTAINER)?.image;
