// The operator's backup volume (issue 14): a PersistentVolumeClaim, never an emptyDir, mounted where the scheduled
// backups go without S3 credentials; its name, size and class come from flags that are checked (or refused);
// `scone operator uninstall` keeps it, as it keeps the CAS claims, with --force and --crds too.
import { describe, expect, test } from "bun:test";
import type { V1Deployment, V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { defaultBackupLocation } from "../../../src/backup/open-target.ts";
import { desiredInstall } from "../../../src/flows/install/desired.ts";
import { installOptionsFromFlags } from "../../../src/flows/install/options.ts";
import { planUninstall, uninstallTargets } from "../../../src/flows/uninstall/plan.ts";
import { DEFAULT_BACKUP_CLAIM, DEFAULT_BACKUP_SIZE } from "../../../src/install/backup-claim.ts";
import { renderInstallManifests } from "../../../src/install/manifests.ts";
import { STATE_DIR } from "../../../src/install/operator.ts";
import type { KubeObject } from "../../../src/kube/types.ts";

const of = <T>(objects: readonly KubeObject[], kind: string): T[] =>
  objects.filter((o) => o.kind === kind) as unknown as T[];

function rendered(flags: Record<string, unknown> = {}) {
  const items = desiredInstall(installOptionsFromFlags(flags)).items.map((i) => i.object);
  const [deployment] = of<V1Deployment>(items, "Deployment");
  if (!deployment) throw new Error("no Deployment rendered");
  return { claims: of<V1PersistentVolumeClaim>(items, "PersistentVolumeClaim"), deployment, items };
}

const podOf = (d: V1Deployment) => d.spec?.template.spec;

describe("the operator's backup claim", () => {
  test("defaults: one claim scone-operator-backups of 10Gi, ReadWriteOnce, default class, kept by helm uninstall", () => {
    const { claims } = rendered();
    expect(claims).toHaveLength(1);
    const claim = claims[0] as V1PersistentVolumeClaim;
    expect(claim.metadata?.name).toBe(DEFAULT_BACKUP_CLAIM);
    expect(claim.metadata?.namespace).toBe("scone-system");
    expect(claim.metadata?.annotations?.["helm.sh/resource-policy"]).toBe("keep");
    expect(claim.spec).toEqual({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } } });
    expect(DEFAULT_BACKUP_SIZE).toBe("10Gi");
  });

  test("the Deployment mounts the claim where scheduled backups go without S3, and no emptyDir there", () => {
    const { deployment } = rendered();
    const pod = podOf(deployment);
    const volume = pod?.volumes?.find((v) => v.persistentVolumeClaim?.claimName === DEFAULT_BACKUP_CLAIM);
    expect(volume).toBeDefined();
    const mount = pod?.containers[0]?.volumeMounts?.find((m) => m.name === volume?.name);
    // The backup port writes to defaultBackupLocation(--state-dir); the container gets --state-dir=STATE_DIR.
    expect(pod?.containers[0]?.args).toContain(`--state-dir=${STATE_DIR}`);
    expect(mount?.mountPath).toBe(defaultBackupLocation(STATE_DIR));
    const emptyDirMounts = (pod?.containers[0]?.volumeMounts ?? [])
      .filter((m) => pod?.volumes?.find((v) => v.name === m.name)?.emptyDir)
      .map((m) => m.mountPath);
    expect(emptyDirMounts).not.toContain(defaultBackupLocation(STATE_DIR));
    // A surge pod would wait for the ReadWriteOnce volume the old pod holds: the old pod goes first.
    expect(deployment.spec?.strategy?.rollingUpdate?.maxSurge).toBe(0);
  });

  test("--backup-claim, --backup-storage-size and --backup-storage-class reach the claim and the mount", () => {
    const { claims, deployment } = rendered({
      "backup-claim": "ops-backups",
      "backup-storage-size": "20480Mi",
      "backup-storage-class": "fast.ssd",
    });
    expect(claims.map((c) => c.metadata?.name)).toEqual(["ops-backups"]);
    // The API server's canonical form, so a re-install sees no difference.
    expect(claims[0]?.spec?.resources?.requests?.storage).toBe("20Gi");
    expect(claims[0]?.spec?.storageClassName).toBe("fast.ssd");
    expect(podOf(deployment)?.volumes?.map((v) => v.persistentVolumeClaim?.claimName)).toContain("ops-backups");
  });

  test("bad values are refused, naming the flag, before anything is rendered", () => {
    expect(() => installOptionsFromFlags({ "backup-claim": "Bad_Name" })).toThrow(/--backup-claim/);
    expect(() => installOptionsFromFlags({ "backup-storage-size": "0Gi" })).toThrow(/--backup-storage-size.*10Gi/);
    expect(() => installOptionsFromFlags({ "backup-storage-size": "1.5Gi" })).toThrow(/--backup-storage-size/);
    expect(() => installOptionsFromFlags({ "backup-storage-size": "-1Gi" })).toThrow(/--backup-storage-size/);
    expect(() => installOptionsFromFlags({ "backup-storage-class": "a/b" })).toThrow(/--backup-storage-class/);
    expect(() => installOptionsFromFlags({ "backup-storage-class": "" })).toThrow(/--backup-storage-class is empty/);
  });

  test("with --local-operator (no Deployment) the flags are refused, and no claim is rendered", () => {
    expect(() =>
      installOptionsFromFlags({ "local-operator": "127.0.0.1:9443", "backup-storage-size": "20Gi" }),
    ).toThrow(/--backup-storage-size .*--local-operator/);
    const local = renderInstallManifests({ webhook: { mode: "url" } });
    expect(local.filter((o) => o.kind === "PersistentVolumeClaim")).toEqual([]);
  });

  test("uninstall never deletes the claim, not even with --force and --crds, and says it stays", () => {
    for (const crds of [false, true]) {
      expect(uninstallTargets("scone-system", crds).map((t) => t.ref.kind)).not.toContain("PersistentVolumeClaim");
      const plan = planUninstall({ namespace: "scone-system", observed: new Map(), resources: [], crds, force: true });
      expect(plan.kept.join("\n")).toMatch(/PersistentVolumeClaim.*operator's backups/);
    }
  });
});
