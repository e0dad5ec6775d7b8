// The operator's audit-log shipper (leader only): one worker per CAS follows pod NAME-0's audit log and ships it
// (ship-log.ts) to the archive in the configured backup target; it reports lag and failures as metrics
// (src/metrics/audit-shipping.ts), Events on the CAS and the AuditShipped condition, which the CAS controller writes
// (it asks conditionOf on each reconcile; onChange enqueues one). No state of its own survives it: a new leader
// resumes from the archive.
import type { V1Pod } from "@kubernetes/client-node";
import type { BackupTarget } from "../../backup/target.ts";
import type { CasDriverSource, CasRef } from "../../cas/driver/reach.ts";
import { DEFAULT_SEGMENT_POLICY, type SegmentPolicy } from "../../flows/audit/archive/plan.ts";
import type { AuditLogKube } from "../../flows/audit/flow.ts";
import type { KubeClient } from "../../kube/client.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { Logger } from "../../log.ts";
import {
  type AuditShippingMetrics,
  auditShippingMetrics,
  removeAuditShippingSeries,
} from "../../metrics/audit-shipping.ts";
import type { MetricsRegistry } from "../../metrics/registry.ts";
import { CAS_EVENT_REASON } from "../../resources/cas-conditions.ts";
import type { ConditionInput } from "../../runtime/conditions.ts";
import type { StoreDb } from "../../store/open.ts";
import type { Runnable } from "../manager.ts";
import type { EventSink } from "../reconcile-kit.ts";
import { type ShippingState, shippingCondition, shippingEvents } from "./condition.ts";
import { type PodState, ShipFailure, shipPodLog } from "./ship-log.ts";

export interface AuditShipperOptions {
  readonly kube: AuditLogKube & Pick<KubeClient, "tryGet">;
  /**
   * Pod NAME-0 of a CAS as the operator's CAS-pod informer holds it. Absent: a GET per look, which is one request
   * per CAS every podCheckMs/syncMs — 1,000 a second with 2,000 CAS (issue 18), where the watch costs none.
   */
  readonly pods?: (namespace: string, name: string) => V1Pod | undefined;
  /** The CAS resources to ship (the CAS informer's list). */
  readonly casList: () => readonly KubeObject[];
  /** The archive: the configured backup target (S3 of the Scone stack, else the operator's backup volume). */
  readonly target: () => Promise<BackupTarget>;
  readonly source: CasDriverSource;
  readonly metrics: MetricsRegistry;
  readonly events: EventSink;
  readonly log: Logger;
  readonly store?: { readonly db: StoreDb };
  readonly policy?: SegmentPolicy;
  readonly now?: () => number;
  /** Called when a CAS's condition changes (the operator enqueues the CAS's reconcile). */
  readonly onChange?: (cas: { namespace: string; name: string }) => void;
  /** Look at the CAS list and idle pods this often (default 2 s). */
  readonly syncMs?: number;
  /** First wait after a failure, doubled per failure in a row up to 60 s (default 2 s). */
  readonly retryMs?: number;
  /** While following: how often the pod's state is looked at (default 1 s). */
  readonly podCheckMs?: number;
  /**
   * A follow that brings nothing for this long, with everything read archived, is read again (default 30 s),
   * doubling while nothing new comes up to 30 minutes: a silent stream is never trusted for ever.
   */
  readonly silentMs?: number;
  /** Bytes of a log from seq 0 verified whole; past them, in windows (ship-log.ts; default verify.ts's 16 MiB). */
  readonly wholeLogBytes?: number;
}

const DEFAULT_SILENT_MS = 30_000;
const MAX_SILENT_MS = 30 * 60_000;

interface Worker {
  readonly abort: AbortController;
  readonly done: Promise<void>;
  readonly object: KubeObject;
}

const keyOf = (ns: string, name: string) => `${ns}/${name}`;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class AuditShipper implements Runnable {
  readonly name = "cas-audit-shipper";
  private readonly abort = new AbortController();
  private readonly workers = new Map<string, Worker>();
  private readonly states = new Map<string, ShippingState>();
  private readonly metrics: AuditShippingMetrics;
  private loop: Promise<void> | undefined;
  /** Called when a CAS's condition changes (set after construction by who registers the CAS controller). */
  onChange: ((cas: { namespace: string; name: string }) => void) | undefined;

  constructor(private readonly o: AuditShipperOptions) {
    this.metrics = auditShippingMetrics(o.metrics);
    this.onChange = o.onChange;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await Promise.all([...this.workers.values()].map((w) => w.done));
    this.workers.clear();
    this.loop = undefined;
  }

  /** The AuditShipped condition of a CAS, undefined while no worker has looked at it. */
  conditionOf(namespace: string, name: string): ConditionInput | undefined {
    const s = this.states.get(keyOf(namespace, name));
    return s ? shippingCondition(s) : undefined;
  }

  stateOf(namespace: string, name: string): ShippingState | undefined {
    return this.states.get(keyOf(namespace, name));
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        this.sync();
      } catch (e) {
        this.o.log.warn("audit shipper sync failed", { error: errorText(e) });
      }
      await sleep(this.o.syncMs ?? 2_000, signal);
    }
  }

  /** A worker per CAS that is not being deleted; the workers of CASes gone are stopped. */
  private sync(): void {
    const wanted = new Map<string, KubeObject>();
    for (const cas of this.o.casList()) {
      const ns = cas.metadata?.namespace;
      const name = cas.metadata?.name;
      if (!ns || !name || cas.metadata?.deletionTimestamp) continue;
      wanted.set(keyOf(ns, name), cas);
    }
    for (const [key, w] of this.workers) {
      if (wanted.has(key)) continue;
      w.abort.abort();
      this.workers.delete(key);
      this.states.delete(key);
      const [namespace, name] = key.split("/") as [string, string];
      removeAuditShippingSeries(this.metrics, { cr_namespace: namespace, cr_name: name });
    }
    for (const [key, cas] of wanted) {
      if (this.workers.has(key)) continue;
      const abort = new AbortController();
      const signal = AbortSignal.any([this.abort.signal, abort.signal]);
      const done = this.work(cas, signal).catch((e) =>
        this.o.log.error("audit shipper worker stopped", { cas: key, error: errorText(e) }),
      );
      this.workers.set(key, { abort, done, object: cas });
    }
  }

  private update(cas: KubeObject, change: Partial<ShippingState>): void {
    const ns = cas.metadata?.namespace ?? "";
    const name = cas.metadata?.name ?? "";
    const key = keyOf(ns, name);
    const before = this.states.get(key);
    const after: ShippingState = { through: -1, lagSeconds: 0, ...before, ...change };
    this.states.set(key, after);
    const labels = { cr_namespace: ns, cr_name: name };
    this.metrics.lag.set(labels, after.lagSeconds);
    if (after.through >= 0) this.metrics.lastSeq.set(labels, after.through);
    for (const e of shippingEvents(before, after)) this.o.events.record(cas, e.type, e.reason, e.message);
    const was = before ? shippingCondition(before) : undefined;
    const is = shippingCondition(after);
    if (was?.status !== is.status || was?.reason !== is.reason) this.onChange?.({ namespace: ns, name });
  }

  private async pod(ref: { namespace: string; name: string }, signal: AbortSignal): Promise<V1Pod | undefined> {
    if (this.o.pods) return this.o.pods(ref.namespace, ref.name);
    return this.o.kube.tryGet<V1Pod>({ apiVersion: "v1", kind: "Pod", ...ref }, { signal });
  }

  private async podState(
    ref: { namespace: string; name: string },
    uid: string,
    signal: AbortSignal,
  ): Promise<PodState> {
    const pod = await this.pod(ref, signal);
    if (!pod || pod.metadata?.uid !== uid) return "gone";
    return pod.metadata?.deletionTimestamp ? "leaving" : "running";
  }

  private async work(cas: KubeObject, signal: AbortSignal): Promise<void> {
    const namespace = cas.metadata?.namespace ?? "";
    const name = cas.metadata?.name ?? "";
    const clientPort = (cas as { spec?: { service?: { clientPort?: number } } }).spec?.service?.clientPort;
    const ref: CasRef = { namespace, name, ...(clientPort ? { clientPort } : {}) };
    const podRef = { namespace, name: `${name}-0` };
    const labels = { cr_namespace: namespace, cr_name: name };
    let failures = 0;
    const firstSilentMs = this.o.silentMs ?? DEFAULT_SILENT_MS;
    let silentMs = firstSilentMs;
    // The oldest entry not yet archived and when it was first read: a retry reads it again, its lag goes on.
    let oldest: { log: string; seq: number; at: number } | undefined;
    const lagNow = () => (oldest ? Math.max(0, (this.now() - oldest.at) / 1000) : 0);
    while (!signal.aborted) {
      const pod = await this.pod(podRef, signal).catch(() => undefined);
      const uid = pod?.metadata?.uid;
      if (!pod || !uid || pod.metadata?.deletionTimestamp || pod.status?.phase !== "Running") {
        if (!this.states.get(keyOf(namespace, name))?.failure)
          this.update(cas, { waiting: `pod ${namespace}/${podRef.name} is not running`, lagSeconds: 0 });
        await sleep(this.o.syncMs ?? 2_000, signal);
        continue;
      }
      try {
        const target = await this.o.target();
        const end = await shipPodLog(
          ref,
          { ...podRef, uid },
          {
            kube: this.o.kube,
            target,
            source: this.o.source,
            policy: this.o.policy ?? DEFAULT_SEGMENT_POLICY,
            now: () => this.now(),
            podState: () => this.podState(podRef, uid, signal),
            ...(this.o.store ? { store: this.o.store } : {}),
            ...(this.o.podCheckMs !== undefined ? { podCheckMs: this.o.podCheckMs } : {}),
            ...(this.o.wholeLogBytes !== undefined ? { wholeLogBytes: this.o.wholeLogBytes } : {}),
            silentMs,
            onShipped: (m) => {
              failures = 0;
              silentMs = firstSilentMs;
              this.metrics.entries.inc(labels, m.entries);
              this.metrics.segments.inc(labels);
              this.metrics.bytes.inc(labels, m.bytes);
              this.metrics.lastShipped.set(labels, Date.parse(m.shippedAt) / 1000);
              if (!m.verification.correct || !m.verification.keyVouched)
                this.o.events.record(
                  cas,
                  "Warning",
                  CAS_EVENT_REASON.AuditSegmentUnverified,
                  `audit log seq ${m.firstSeq}..${m.lastSeq} of pod ${m.pod.name} (gone) archived with verdict exit ${m.verification.exitCode}: ${m.verification.meaning ?? "the CLI could not verify"}${m.verification.keyVouched ? "" : "; verified offline with a key no CAS vouched for"}`,
                );
              this.update(cas, { log: m.log, through: m.lastSeq, failure: undefined });
            },
            onGap: (g) => {
              this.o.log.warn("audit log gap", { cas: keyOf(namespace, name), log: g.log, through: g.through });
              this.o.events.record(cas, "Warning", CAS_EVENT_REASON.AuditLogGap, g.message);
              this.update(cas, { gap: g.message });
            },
            firstReadAt: (log, seq) => (oldest?.log === log && oldest.seq === seq ? oldest.at : undefined),
            onProgress: (p) => {
              oldest = p.log && p.oldest ? { log: p.log, seq: p.oldest.seq, at: p.oldest.readAtMs } : undefined;
              this.update(cas, {
                ...(p.log !== undefined ? { log: p.log } : {}),
                through: p.through,
                lagSeconds: p.lagSeconds,
                waiting: undefined,
              });
            },
          },
          signal,
        );
        if (end === "stopped") return;
        failures = 0;
        if (this.states.get(keyOf(namespace, name))?.failure) this.update(cas, { failure: undefined });
        if (end === "ended") await sleep(this.o.retryMs ?? 2_000, signal);
        if (end === "silent") silentMs = Math.min(silentMs * 2, MAX_SILENT_MS);
      } catch (e) {
        if (signal.aborted) return;
        failures++;
        const reason = e instanceof ShipFailure ? e.reason : "ShippingFailed";
        const message = errorText(e);
        this.metrics.failures.inc({ ...labels, reason });
        this.o.log.warn("audit log shipping failed", { cas: keyOf(namespace, name), reason, error: message });
        this.update(cas, { failure: { reason, message }, lagSeconds: lagNow() });
        await sleep(Math.min((this.o.retryMs ?? 2_000) * 2 ** (failures - 1), 60_000), signal);
      }
    }
  }
}
