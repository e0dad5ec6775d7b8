import { describe, expect, test } from "bun:test";
import type { KubeClient } from "../../../../src/kube/client.ts";
import type { Informer } from "../../../../src/kube/informer.ts";
import type { KubeObject } from "../../../../src/kube/types.ts";
import { createLogger } from "../../../../src/log.ts";
import {
  type StackBackupPort,
  type StackBackupRequest,
  StackBackupRunner,
} from "../../../../src/operator/scone/backup-runner.ts";
import {
  LAST_BACKUP_ANNOTATION,
  LAST_BACKUP_ERROR_ANNOTATION,
} from "../../../../src/operator/scone/backup-schedule.ts";
import type { Scone } from "../../../../src/resources/scone.ts";

class RecordingPort implements StackBackupPort {
  readonly calls: string[] = [];
  fail: string | undefined;
  constructor(private readonly clock: () => Date) {}
  async runBackup(req: StackBackupRequest) {
    this.calls.push(`backup ${req.casNamespace}/${req.casName} ${req.credentialsSecret?.name ?? "local"}`);
    if (this.fail) throw new Error(this.fail);
    return { id: "bk-1", completedAt: this.clock() };
  }
  async applyRetention(req: StackBackupRequest) {
    this.calls.push(`retention ${req.retentionDays}`);
    return { removed: 2 };
  }
  readonly refreshes: string[] = [];
  refreshFails = false;
  async refreshCatalog(req: StackBackupRequest) {
    this.refreshes.push(`${req.casNamespace}/${req.casName}`);
    if (this.refreshFails) throw new Error("bucket unreachable");
    return { added: 1, removed: 0 };
  }
}

function setup(spec: Partial<NonNullable<Scone["spec"]>> = {}, annotations: Record<string, string> = {}) {
  let now = new Date("2026-01-01T12:00:00Z");
  const scone: Scone = {
    apiVersion: "confidential.security.osc.t-systems.com/v1alpha1",
    kind: "Scone",
    metadata: { name: "scone", uid: "u", annotations },
    spec: { serviceVersion: "6.0.6", backup: { interval: 3600, retention: 7 }, ...spec },
    status: { phase: "Running", deployedSpec: "h" },
  };
  const patches: unknown[] = [];
  const events: string[] = [];
  const port = new RecordingPort(() => now);
  const runner = new StackBackupRunner({
    port,
    scones: { list: () => [scone], hasSynced: () => true } as unknown as Informer<KubeObject>,
    client: {
      patch: async (_ref: unknown, body: { metadata: { annotations: Record<string, string | null> } }) => {
        patches.push(body);
        for (const [k, v] of Object.entries(body.metadata.annotations)) {
          const a = { ...scone.metadata.annotations };
          if (v === null) delete a[k];
          else a[k] = v;
          scone.metadata.annotations = a;
        }
        return scone;
      },
    } as unknown as KubeClient,
    events: { record: (_o, type, reason, message) => events.push(`${type} ${reason} ${message}`) },
    log: createLogger({ level: "error", sink: { write: () => true } as unknown as NodeJS.WritableStream }),
    namespace: "scone-system",
    now: () => now,
    failureRetryMs: 60_000,
  });
  return { scone, port, runner, patches, events, advance: (ms: number) => (now = new Date(now.getTime() + ms)) };
}

describe("StackBackupRunner", () => {
  test("a first backup is due at once: backup, retention, annotation, Event; then sleeps until the next", async () => {
    const t = setup();
    const sleep = await t.runner.runDue();
    expect(t.port.calls).toEqual(["backup scone-system/cas local", "retention 7"]);
    expect(t.scone.metadata.annotations?.[LAST_BACKUP_ANNOTATION]).toBe("2026-01-01T12:00:00.000Z");
    expect(t.events[0]).toContain(
      "Normal BackupCompleted backup bk-1 of CAS scone-system/cas completed; 2 older than 7 days removed",
    );
    expect(sleep).toBeLessThanOrEqual(60_000);
    t.advance(30 * 60_000);
    await t.runner.runDue();
    expect(t.port.calls.length).toBe(2);
    t.advance(30 * 60_000);
    await t.runner.runDue();
    expect(t.port.calls.length).toBe(4);
  });

  test("the catalog is filled from the target once per stack when the runner starts, even when no backup is due", async () => {
    const t = setup({}, { [LAST_BACKUP_ANNOTATION]: "2026-01-01T11:59:00Z" });
    t.port.refreshFails = true;
    await t.runner.runDue();
    t.port.refreshFails = false;
    await t.runner.runDue();
    await t.runner.runDue();
    // The failed refresh is retried on the next pass, and not repeated once done; no backup was due.
    expect(t.port.refreshes).toEqual(["scone-system/cas", "scone-system/cas"]);
    expect(t.port.calls).toEqual([]);
  });

  test("the bucket credentials copy is used when s3Creds is set", async () => {
    const t = setup({ backup: { interval: 3600, retention: 7, s3Creds: { namespace: "ops", secret: "s3" } } });
    await t.runner.runDue();
    expect(t.port.calls[0]).toBe("backup scone-system/cas scone-backup-s3");
  });

  test("a failure is recorded and retried after the failure wait, not at once", async () => {
    const t = setup();
    t.port.fail = "pod cas-0 not found";
    await t.runner.runDue();
    expect(t.scone.metadata.annotations?.[LAST_BACKUP_ERROR_ANNOTATION]).toBe("pod cas-0 not found");
    expect(t.events[0]).toContain("Warning BackupFailed");
    await t.runner.runDue();
    expect(t.port.calls.length).toBe(1);
    t.port.fail = undefined;
    t.advance(61_000);
    await t.runner.runDue();
    expect(t.port.calls).toEqual(["backup scone-system/cas local", "backup scone-system/cas local", "retention 7"]);
    expect(t.scone.metadata.annotations?.[LAST_BACKUP_ERROR_ANNOTATION]).toBeUndefined();
  });

  test("Unmanaged or skipCas stacks are not backed up", async () => {
    for (const spec of [{ managementState: "Unmanaged" as const }, { skipCas: true }]) {
      const t = setup(spec);
      await t.runner.runDue();
      expect(t.port.calls).toEqual([]);
    }
  });
});
