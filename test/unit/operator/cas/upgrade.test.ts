import { describe, expect, test } from "bun:test";
import type { V1Deployment } from "@kubernetes/client-node";
import { casSettings } from "../../../../src/operator/cas/settings.ts";
import { planUpgrade, type UpgradeInput } from "../../../../src/operator/cas/upgrade.ts";
import type { CAS } from "../../../../src/resources/cas.ts";
import { deployment, IMAGE, opts, readyPod, statefulSet, upstreamCas } from "../../../harness/cas-fixtures.ts";

const NEW = "registry.scontain.com/scone.cloud/cas:6.1.0";
const BC_NEW = "registry.scontain.com/scone.cloud/backup-controller:6.1.0";
const SS_OLD = "registry.scontain.com/scone.cloud/cas-safety-service:6.0.6";

async function upgrading(extra: { force?: boolean; backup?: boolean } = {}): Promise<CAS> {
  const cas = await upstreamCas(extra.backup === false ? "cas_provisioning.yaml" : "cas.yaml");
  return {
    ...cas,
    metadata: {
      ...cas.metadata,
      ...(extra.force ? { annotations: { "cas.scone.cloud/force-upgrade": "true" } } : {}),
    },
    spec: {
      ...cas.spec,
      image: NEW,
      ...(extra.backup === false ? {} : { "backup-controller": { ...cas.spec?.["backup-controller"], image: BC_NEW } }),
    },
  };
}

/** The backup controller after its rollout for `casTarget` completed at `at`. */
function backupController(image: string, casTarget: string, at = "2026-01-01T12:00:00Z"): V1Deployment {
  const d = deployment("cas-backup-controller", image, 1);
  const container = d.spec?.template.spec?.containers[0];
  if (container) container.env = [{ name: "BACKUP_CAS_IMAGE", value: casTarget }];
  if (d.status)
    d.status.conditions = [
      {
        type: "Progressing",
        status: "True",
        reason: "NewReplicaSetAvailable",
        lastUpdateTime: new Date(at),
        lastTransitionTime: new Date(at),
      },
    ];
  return d;
}

const FRESH = [true, true, true];

function input(cas: CAS, over: Partial<UpgradeInput> = {}): UpgradeInput {
  return {
    settings: casSettings(cas, opts),
    provisioned: "Yes",
    migrationComplete: true,
    migrationRatio: "3/3",
    registrations: FRESH,
    statefulSet: statefulSet(IMAGE),
    pod: readyPod("sgx-node-1", IMAGE),
    backupController: backupController(BC_NEW, NEW),
    safetyService: deployment("cas-safety-service", SS_OLD, 3, 3),
    ...over,
  };
}

describe("planUpgrade", () => {
  test("no StatefulSet yet, same image, or not provisioned: everything as specified", async () => {
    const cas = await upgrading();
    for (const over of [
      { statefulSet: undefined },
      { statefulSet: statefulSet(NEW) },
      { provisioned: "No" as const },
    ]) {
      const p = planUpgrade(input(cas, { ...over, migrationComplete: false }));
      expect(p).toMatchObject({ casImage: NEW, backupControllerImage: BC_NEW, step: "none" });
      expect(p.blocked).toBeUndefined();
    }
  });

  test("backup controller first: CAS waits until the new backup controller runs", async () => {
    const p = planUpgrade(
      input(await upgrading(), { backupController: deployment("cas-backup-controller", "bc:old", 1) }),
    );
    expect(p).toMatchObject({ casImage: IMAGE, backupControllerImage: BC_NEW, safetyServiceImage: SS_OLD });
    expect(p.step).toBe("backup-controller");
    expect(p.blocked?.reason).toBe("WaitingForBackupController");
  });

  test("the backup controller must also register the new CAS image, after its own rollout", async () => {
    const cas = await upgrading();
    const oldEnv = planUpgrade(input(cas, { backupController: backupController(BC_NEW, IMAGE) }));
    expect(oldEnv.blocked?.reason).toBe("WaitingForBackupController");
    expect(oldEnv.blocked?.message).toContain(`BACKUP_CAS_IMAGE ${NEW}`);
    const stale = planUpgrade(input(cas, { registrations: [false, ...FRESH.slice(1)] }));
    expect(stale.casImage).toBe(IMAGE);
    expect(stale.blocked?.reason).toBe("WaitingForRegistrations");
    expect(stale.blocked?.message).toContain("2 of 3 registered for that version");
    const unknownRollout = planUpgrade(
      input(cas, { backupController: deployment("cas-backup-controller", BC_NEW, 1) }),
    );
    expect(unknownRollout.blocked?.reason).toBe("WaitingForBackupController");
  });

  test("then CAS, once migration is n/n; the safety service keeps its image until CAS runs the new one", async () => {
    const cas = await upgrading();
    const incomplete = planUpgrade(input(cas, { migrationComplete: false, migrationRatio: "2/3" }));
    expect(incomplete.casImage).toBe(IMAGE);
    expect(incomplete.blocked?.reason).toBe("MigrationIncomplete");
    expect(incomplete.blocked?.message).toContain("2/3");
    const go = planUpgrade(input(cas));
    expect(go).toMatchObject({ casImage: NEW, safetyServiceImage: SS_OLD, step: "cas" });
    expect(go.blocked).toBeUndefined();
    const done = planUpgrade(input(cas, { pod: readyPod("sgx-node-1", NEW) }));
    expect(done).toMatchObject({ casImage: NEW, step: "safety-service" });
    expect(done.safetyServiceImage).toContain("cas-safety-service:6.0.6"); // the spec's safety image (defaulted)
  });

  test("without a backup controller the upgrade is blocked unless forced", async () => {
    const blocked = planUpgrade(input(await upgrading({ backup: false }), { backupController: undefined }));
    expect(blocked.casImage).toBe(IMAGE);
    expect(blocked.blocked?.reason).toBe("BackupControllerDisabled");
    expect(blocked.blocked?.message).toContain("cas.scone.cloud/force-upgrade=true");
    const forced = planUpgrade(
      input(await upgrading({ backup: false, force: true }), { backupController: undefined, migrationComplete: false }),
    );
    expect(forced.casImage).toBe(NEW);
    expect(forced.blocked).toBeUndefined();
    expect(forced.forced).toContain("needs registered backups");
    expect(planUpgrade(input(await upgrading({ force: true }))).forced).toBeUndefined(); // safe anyway
  });
});
