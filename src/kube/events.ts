// core/v1 Events on the objects scone acts on. Repeats of the same (object, type, reason, message) within the
// window bump count/lastTimestamp on the existing Event instead of creating another (client-go's aggregation).
// Best-effort: an Event that cannot be written is logged and dropped, never thrown into the reconcile.
import { hostname } from "node:os";
import type { KubeClient } from "./client.ts";
import { NotFoundError } from "./errors.ts";
import { type KubeLogger, type KubeObject, stderrLogger } from "./types.ts";

export type EventType = "Normal" | "Warning";

export interface EventRecorderOptions {
  reportingController?: string;
  reportingInstance?: string;
  /** Repeats closer together than this aggregate into one Event. */
  windowMs?: number;
  /** Bound on remembered series (oldest forgotten first). */
  maxSeries?: number;
  logger?: KubeLogger;
  now?: () => Date;
}

interface Series {
  namespace: string;
  name: string;
  count: number;
  lastSeen: number;
}

const MAX_MESSAGE = 1024;

export class EventRecorder {
  private readonly series = new Map<string, Promise<Series | undefined>>();
  private readonly controller: string;
  private readonly instance: string;
  private readonly windowMs: number;
  private readonly maxSeries: number;
  private readonly logger: KubeLogger;
  private readonly now: () => Date;

  constructor(
    private readonly client: KubeClient,
    options: EventRecorderOptions = {},
  ) {
    this.controller = options.reportingController ?? "scone";
    this.instance = options.reportingInstance ?? hostname();
    this.windowMs = options.windowMs ?? 10 * 60_000;
    this.maxSeries = options.maxSeries ?? 4096;
    this.logger = options.logger ?? stderrLogger;
    this.now = options.now ?? (() => new Date());
  }

  /** Records an Event about `involved`; resolves when written (or dropped). Never rejects. */
  async record(involved: KubeObject, type: EventType, reason: string, message: string, action?: string): Promise<void> {
    const meta = involved.metadata ?? {};
    const text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
    const key = [meta.uid ?? `${involved.kind}/${meta.namespace ?? ""}/${meta.name ?? ""}`, type, reason, text].join(
      "\u0000",
    );
    // Chain on the previous write of the same series so two quick repeats cannot both create an Event.
    const previous = this.series.get(key) ?? Promise.resolve(undefined);
    const next = previous.then((s) => this.write(s, involved, type, reason, text, action));
    this.series.delete(key); // re-insert at the end: Map order is our LRU order
    this.series.set(key, next);
    if (this.series.size > this.maxSeries) {
      const oldest = this.series.keys().next().value;
      if (oldest !== undefined) this.series.delete(oldest);
    }
    await next;
  }

  private async write(
    prior: Series | undefined,
    involved: KubeObject,
    type: EventType,
    reason: string,
    message: string,
    action: string | undefined,
  ): Promise<Series | undefined> {
    const now = this.now();
    const stamp = now.toISOString();
    try {
      if (prior && now.getTime() - prior.lastSeen < this.windowMs) {
        try {
          await this.client.patch(
            { apiVersion: "v1", kind: "Event", namespace: prior.namespace, name: prior.name },
            { count: prior.count + 1, lastTimestamp: stamp },
            "merge",
          );
          return { ...prior, count: prior.count + 1, lastSeen: now.getTime() };
        } catch (err) {
          if (!(err instanceof NotFoundError)) throw err; // Event expired (TTL): start a new one
        }
      }
      const meta = involved.metadata ?? {};
      const namespace = meta.namespace || "default";
      const base = (meta.name ?? "unnamed").slice(0, 200);
      const name = `${base}.${now.getTime().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
      await this.client.create({
        apiVersion: "v1",
        kind: "Event",
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: involved.apiVersion,
          kind: involved.kind,
          name: meta.name,
          namespace: meta.namespace,
          uid: meta.uid,
          resourceVersion: meta.resourceVersion,
        },
        type,
        reason,
        message,
        action,
        count: 1,
        firstTimestamp: stamp,
        lastTimestamp: stamp,
        source: { component: this.controller },
        reportingComponent: this.controller,
        reportingInstance: this.instance,
      } as KubeObject);
      return { namespace, name, count: 1, lastSeen: now.getTime() };
    } catch (err) {
      this.logger.warn("could not record Event", {
        reason,
        object: `${involved.kind}/${involved.metadata?.namespace ?? ""}/${involved.metadata?.name ?? ""}`,
        error: (err as Error).message,
      });
      return undefined;
    }
  }
}
