// catalogBackupPort over the real src/backup (catalog in a temp state store, local directory target), with the
// CAS pod's commands (readlink, tar) run on this machine against a snapshot directory laid out as the CAS writes it.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeClient } from "../../../../src/kube/client.ts";
import { catalogBackupPort } from "../../../../src/operator/scone/backup-port.ts";
import { listBackups } from "../../../../src/store/backups.ts";
import { cleanup, localExec, snapshotRoot, tempDir, tempStore } from "../../../harness/backup-fixtures.ts";

afterEach(cleanup);

const kubeWith = (provisioned: string) =>
  ({
    get: async () => ({
      apiVersion: "services.scone.cloud/v1beta1",
      kind: "CAS",
      metadata: { name: "cas", namespace: "scone-system" },
      status: { provisioned, version: "6.0.6" },
    }),
  }) as unknown as KubeClient;

const req = { casNamespace: "scone-system", casName: "cas", retentionDays: 7 };
const DAY = 86_400_000;

describe("catalogBackupPort", () => {
  test("a backup lands in <state dir>/backups with both files, recorded completed; retention removes old ones", async () => {
    const snap = snapshotRoot();
    const store = tempStore();
    const stateDir = tempDir("operator-state");
    let now = Date.parse("2026-01-01T00:00:00Z");
    const port = catalogBackupPort({
      kube: kubeWith("Yes"),
      store,
      stateDir,
      exec: localExec(),
      snapshotDir: snap.root,
      now: () => now,
    });
    const signal = new AbortController().signal;
    const first = await port.runBackup(req, signal);
    const dir = join(stateDir, "backups", "scone-system", "cas", first.id);
    expect(new Uint8Array(readFileSync(join(dir, "cas.db")))).toEqual(snap.db);
    expect(existsSync(join(dir, "backup.json"))).toBe(true);
    expect(first.completedAt.getTime()).toBe(now);

    now += 8 * DAY;
    const second = await port.runBackup(req, signal);
    expect((await port.applyRetention(req, signal)).removed).toBe(1);
    expect(existsSync(dir)).toBe(false);
    const left = listBackups(store.db, { namespace: "scone-system", name: "cas", limit: 100 });
    expect(left.map((b) => b.id)).toEqual([second.id]);

    // A restarted operator with an empty store (same backup volume) lists what its predecessor took.
    const fresh = tempStore();
    const restarted = catalogBackupPort({ kube: kubeWith("Yes"), store: fresh, stateDir, now: () => now });
    expect(await restarted.refreshCatalog?.(req, signal)).toEqual({ added: 1, removed: 0 });
    expect(listBackups(fresh.db, { limit: 100 })).toEqual(left);
  });

  test("an unprovisioned CAS is refused with the reason; nothing is recorded as completed", async () => {
    const snap = snapshotRoot();
    const store = tempStore();
    const port = catalogBackupPort({
      kube: kubeWith("No"),
      store,
      stateDir: tempDir("operator-state"),
      exec: localExec(),
      snapshotDir: snap.root,
    });
    await expect(port.runBackup(req, new AbortController().signal)).rejects.toThrow(/not provisioned/);
    expect(listBackups(store.db, { namespace: "scone-system", name: "cas", phase: "completed", limit: 100 })).toEqual(
      [],
    );
  });

  test("s3Creds naming a Secret without a bucket is an error naming the key", async () => {
    const store = tempStore();
    const kube = {
      ...kubeWith("Yes"),
      get: kubeWith("Yes").get,
      tryGet: async () => ({
        metadata: { name: "scone-backup-s3", namespace: "scone-system" },
        data: { accessKeyId: btoa("AKIA"), secretAccessKey: btoa("secret"), endpoint: btoa("http://127.0.0.1:9") },
      }),
    } as unknown as KubeClient;
    const port = catalogBackupPort({ kube, store, stateDir: tempDir("s"), exec: localExec() });
    await expect(
      port.runBackup(
        { ...req, credentialsSecret: { namespace: "scone-system", name: "scone-backup-s3" } },
        new AbortController().signal,
      ),
    ).rejects.toThrow(/has no key bucket/);
  });
});
