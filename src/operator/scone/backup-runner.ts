// Scheduled backups of the stack's CAS database, run by the operator (leader only): wakes at the earliest due
// time (at most every minute), takes one backup per due stack through a StackBackupPort, applies the retention,
// and records the completion in an annotation of the Scone resource (the schedule survives restarts) plus an Event.
// The port is the seam to src/backup (runBackup / applyRetention); the schedule itself is backup-schedule.ts.

import type { KubeClient } from "../../kube/client.ts";
import type { Informer } from "../../kube/informer.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { Logger } from "../../log.ts";
import type { Scone } from "../../resources/scone.ts";
import type { Runnable } from "../manager.ts";
import { type EventSink, refOfObject } from "../reconcile-kit.ts";
import {
  LAST_BACKUP_ANNOTATION,
  LAST_BACKUP_ERROR_ANNOTATION,
  lastBackupOf,
  nextBackupDue,
} from "./backup-schedule.ts";
import { STACK_NAMES } from "./render.ts";

export interface StackBackupRequest {
  /** The CAS whose database is backed up. */
  readonly casNamespace: string;
  readonly casName: string;
  /** The bucket credentials copied into the services namespace; undefined: the target's default. */
  readonly credentialsSecret?: { readonly namespace: string; readonly name: string };
  readonly retentionDays: number;
}

/** The effect: one backup, then retention. Implemented over src/backup; tests may pass a recording one. */
export interface StackBackupPort {
  runBackup(req: StackBackupRequest, signal: AbortSignal): Promise<{ readonly id: string; readonly completedAt: Date }>;
  applyRetention(req: StackBackupRequest, signal: AbortSignal): Promise<{ readonly removed: number }>;
  /**
   * Fills the catalog (a cache) from the target's listing: run once per stack when the runner starts, so a restarted
   * or new operator lists the backups its predecessor took.
   */
  refreshCatalog?(
    req: StackBackupRequest,
    signal: AbortSignal,
  ): Promise<{ readonly added: number; readonly removed: number }>;
}

export interface BackupRunnerOptions {
  readonly port: StackBackupPort;
  readonly scones: Informer<KubeObject>;
  readonly client: KubeClient;
  readonly events: EventSink;
  readonly log: Logger;
  readonly namespace: string;
  readonly now?: () => Date;
  /** Longest sleep between checks (default 60 s). */
  readonly maxSleepMs?: number;
  /** Wait after a failed backup before the next attempt (default 5 min, at most the interval). */
  readonly failureRetryMs?: number;
  /** Whether the stack's CAS can be backed up now (provisioned: an unprovisioned CAS has no database to save). */
  readonly casReady?: (scone: Scone) => boolean;
}

/** Stacks whose CAS is the operator's to back up: Managed, not being deleted, a CAS installed. */
export function backupCandidates(scones: readonly Scone[]): Scone[] {
  return scones.filter(
    (s) =>
      !s.metadata.deletionTimestamp &&
      (s.spec?.managementState ?? "Managed") === "Managed" &&
      s.spec?.skipCas !== true &&
      s.status?.deployedSpec !== undefined,
  );
}

export class StackBackupRunner implements Runnable {
  readonly name = "scone-stack-backups";
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private wake: () => void = () => {};
  /** After a failure: no new attempt before this time (per stack). */
  private readonly failedUntil = new Map<string, number>();
  /** Stacks whose catalog was filled from their target since this runner started. */
  private readonly refreshed = new Set<string>();

  constructor(private readonly o: BackupRunnerOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake();
    await this.loop;
    this.loop = undefined;
  }

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  /** Runs every due backup once; returns ms until the next one is due (exported for tests through runDue). */
  async runDue(): Promise<number> {
    const maxSleep = this.o.maxSleepMs ?? 60_000;
    let sleep = maxSleep;
    const ready = this.o.casReady ?? (() => true);
    for (const scone of backupCandidates(this.o.scones.list() as Scone[]).filter(ready)) {
      const name = scone.metadata.name ?? "";
      await this.refresh(scone);
      const interval = scone.spec?.backup?.interval ?? 14400;
      const now = this.now();
      const blocked = this.failedUntil.get(name) ?? 0;
      const due = Math.max(nextBackupDue(lastBackupOf(scone), interval, now).getTime(), blocked);
      if (due > now.getTime()) {
        sleep = Math.min(sleep, due - now.getTime());
        continue;
      }
      await this.backup(scone, interval);
      sleep = Math.min(sleep, interval * 1000);
    }
    return Math.max(sleep, 100);
  }

  /** Once per stack: the catalog from the target (a failure is logged and retried on the next pass). */
  private async refresh(scone: Scone): Promise<void> {
    const name = scone.metadata.name ?? "";
    if (this.refreshed.has(name) || !this.o.port.refreshCatalog) return;
    try {
      const done = await this.o.port.refreshCatalog(this.request(scone), this.abort.signal);
      this.refreshed.add(name);
      this.o.log.info("backup catalog filled from the target", { scone: name, ...done });
    } catch (e) {
      this.o.log.warn("backup catalog refresh failed", {
        scone: name,
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }

  private request(scone: Scone): StackBackupRequest {
    const s3 = scone.spec?.backup?.s3Creds;
    return {
      casNamespace: this.o.namespace,
      casName: STACK_NAMES.cas,
      ...(s3 ? { credentialsSecret: { namespace: this.o.namespace, name: STACK_NAMES.backupCredentials } } : {}),
      retentionDays: scone.spec?.backup?.retention ?? 10,
    };
  }

  private async backup(scone: Scone, intervalSeconds: number): Promise<void> {
    const name = scone.metadata.name ?? "";
    const req = this.request(scone);
    try {
      const done = await this.o.port.runBackup(req, this.abort.signal);
      const retention = await this.o.port.applyRetention(req, this.abort.signal);
      this.failedUntil.delete(name);
      await this.annotate(scone, {
        [LAST_BACKUP_ANNOTATION]: done.completedAt.toISOString(),
        [LAST_BACKUP_ERROR_ANNOTATION]: null,
      });
      this.o.events.record(
        scone,
        "Normal",
        "BackupCompleted",
        `backup ${done.id} of CAS ${req.casNamespace}/${req.casName} completed; ${retention.removed} older than ${req.retentionDays} days removed`,
      );
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const retryMs = Math.min(this.o.failureRetryMs ?? 5 * 60_000, intervalSeconds * 1000);
      this.failedUntil.set(name, this.now().getTime() + retryMs);
      this.o.log.warn("stack backup failed", { scone: name, error: message });
      this.o.events.record(
        scone,
        "Warning",
        "BackupFailed",
        `backup of CAS ${req.casNamespace}/${req.casName} failed: ${message}`,
      );
      await this.annotate(scone, { [LAST_BACKUP_ERROR_ANNOTATION]: message.slice(0, 500) }).catch(() => {});
    }
  }

  private async annotate(scone: Scone, annotations: Record<string, string | null>): Promise<void> {
    await this.o.client.patch(refOfObject(scone as KubeObject), { metadata: { annotations } }, "merge", {
      signal: this.abort.signal,
    });
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      let sleepMs = 1000;
      try {
        if (this.o.scones.hasSynced()) sleepMs = await this.runDue();
      } catch (e) {
        this.o.log.warn("stack backup scheduler", { error: e instanceof Error ? e.message : String(e) });
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, sleepMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }
}
