// Informer: list, then watch from the list's resourceVersion, keeping a cache by namespace/name and telling
// handlers about add/update/delete. It never stops on its own: every failure is logged, shown in health(), and
// retried with backoff until stop(). A 410 Gone relists and diffs the fresh list against the cache so handlers
// see exactly one delete per vanished object and one add per new one.
import type { KubeClient } from "./client.ts";
import { GoneError } from "./errors.ts";
import { type KubeLogger, type KubeObject, objectKey, stderrLogger, type TypeRef, type WatchEvent } from "./types.ts";

export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

/** Where objects come from; KubeClient in production (clientListWatch), a fake in unit tests. */
export interface ListWatch<T> {
  list(signal: AbortSignal): Promise<{ items: T[]; resourceVersion: string }>;
  watch(
    resourceVersion: string,
    options: { signal: AbortSignal; timeoutSeconds: number; onOpen: () => void },
  ): AsyncIterable<WatchEvent<T>>;
}

export interface InformerScope {
  type: TypeRef;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface InformerOptions<T> {
  /** Re-emit update(obj, obj) for every cached object this often (ms); 0 = never. */
  resyncMs?: number;
  /** Server-side watch timeout; the watch is then resumed from the last resourceVersion. */
  watchTimeoutSeconds?: number;
  /** A watch with no event, bookmark or reconnect for this long is restarted and reported. Default 2 × timeout. */
  staleAfterMs?: number;
  /** Applied to every object before it is cached (e.g. drop fields to save memory). */
  transform?: (obj: T) => T;
  /** Drop metadata.managedFields before caching (they are often most of an object's size). */
  stripManagedFields?: boolean;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  logger?: KubeLogger;
  /** Name used in logs and health. */
  name?: string;
}

export interface InformerHealth {
  name: string;
  healthy: boolean;
  synced: boolean;
  reason?: string;
  lastEventAt?: string;
  lastSyncAt?: string;
  resourceVersion: string;
  objects: number;
  consecutiveFailures: number;
  relists: number;
  watchRestarts: number;
}

export interface RelistDiff<T> {
  deleted: T[];
  added: T[];
  updated: [oldObj: T, newObj: T][];
}

/**
 * What changed between the cache and a fresh list (pure). An object whose uid changed was deleted and recreated
 * under the same name while we were not watching: that is a delete plus an add, not an update.
 */
export function diffRelist<T extends KubeObject>(cache: ReadonlyMap<string, T>, listed: readonly T[]): RelistDiff<T> {
  const diff: RelistDiff<T> = { deleted: [], added: [], updated: [] };
  const seen = new Set<string>();
  for (const obj of listed) {
    const key = objectKey(obj);
    seen.add(key);
    const old = cache.get(key);
    if (!old) diff.added.push(obj);
    else if (old.metadata?.uid && obj.metadata?.uid && old.metadata.uid !== obj.metadata.uid) {
      diff.deleted.push(old);
      diff.added.push(obj);
    } else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) diff.updated.push([old, obj]);
  }
  for (const [key, old] of cache) if (!seen.has(key)) diff.deleted.push(old);
  return diff;
}

export function stripManagedFields<T extends KubeObject>(obj: T): T {
  if (obj.metadata?.managedFields) obj.metadata.managedFields = undefined;
  return obj;
}

export function clientListWatch<T extends KubeObject>(client: KubeClient, scope: InformerScope): ListWatch<T> {
  const { type, namespace, labelSelector, fieldSelector } = scope;
  return {
    async list(signal) {
      const list = await client.listAll<T>(type, { namespace, labelSelector, fieldSelector, signal });
      return { items: list.items, resourceVersion: list.metadata.resourceVersion ?? "" };
    },
    watch(resourceVersion, { signal, timeoutSeconds, onOpen }) {
      return client.watch<T>(type, {
        namespace,
        labelSelector,
        fieldSelector,
        resourceVersion,
        timeoutSeconds,
        allowWatchBookmarks: true,
        signal,
        onOpen,
      });
    },
  };
}

class StaleWatchError extends Error {
  override name = "StaleWatchError";
}

export class Informer<T extends KubeObject> {
  readonly name: string;
  private readonly cache = new Map<string, T>();
  /**
   * The cache again, by namespace: list(namespace) is asked by every reconcile (its owned objects), and filtering
   * the whole cache made that O(objects of every namespace) per call: quadratic in the number of CAS (issue 18).
   */
  private readonly byNamespace = new Map<string, Map<string, T>>();
  private readonly handlers = new Set<InformerHandlers<T>>();
  private readonly logger: KubeLogger;
  private readonly opts: Required<
    Pick<InformerOptions<T>, "resyncMs" | "watchTimeoutSeconds" | "backoffInitialMs" | "backoffMaxMs">
  > & {
    staleAfterMs: number;
  };
  private readonly transform: (obj: T) => T;
  private running = false;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private stopController = new AbortController();
  private watchController: AbortController | undefined;
  private resourceVersion = "";
  private lastActivity = 0;
  private lastEventAt: number | undefined;
  private lastSyncAt: number | undefined;
  private problem: string | undefined;
  private consecutiveFailures = 0;
  private relists = 0;
  private watchRestarts = 0;
  private timers: ReturnType<typeof setInterval>[] = [];
  private loop: Promise<void> | undefined;

  constructor(
    private readonly listWatch: ListWatch<T>,
    options: InformerOptions<T> = {},
  ) {
    this.name = options.name ?? "informer";
    this.logger = options.logger ?? stderrLogger;
    const watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;
    this.opts = {
      resyncMs: options.resyncMs ?? 0,
      watchTimeoutSeconds,
      backoffInitialMs: options.backoffInitialMs ?? 800,
      backoffMaxMs: options.backoffMaxMs ?? 30_000,
      staleAfterMs: options.staleAfterMs ?? 2 * watchTimeoutSeconds * 1000,
    };
    const user = options.transform ?? ((o: T) => o);
    this.transform = options.stripManagedFields ? (o) => user(stripManagedFields(o)) : user;
  }

  /** Adds handlers. If the cache is already synced, the new handler first gets add() for every cached object. */
  addHandlers(handlers: InformerHandlers<T>): () => void {
    this.handlers.add(handlers);
    if (this.synced && handlers.add) for (const obj of this.cache.values()) this.call(handlers, "add", obj);
    return () => this.handlers.delete(handlers);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopController = new AbortController();
    this.lastActivity = Date.now();
    const checkEvery = Math.max(50, Math.min(this.opts.staleAfterMs / 4, 10_000));
    this.timers.push(setInterval(() => this.checkStale(), checkEvery));
    if (this.opts.resyncMs > 0) this.timers.push(setInterval(() => this.resync(), this.opts.resyncMs));
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.stopController.abort();
    this.watchController?.abort();
    await this.loop;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list has been cached (or rejects if `signal` aborts first). */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.syncWaiters.push(resolve);
      signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  }

  get(namespaceOrName: string, name?: string): T | undefined {
    return this.cache.get(name === undefined ? namespaceOrName : `${namespaceOrName}/${name}`);
  }

  list(namespace?: string): T[] {
    if (namespace === undefined) return [...this.cache.values()];
    return [...(this.byNamespace.get(namespace)?.values() ?? [])];
  }

  health(): InformerHealth {
    const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
    const reason =
      this.problem ?? (this.synced ? undefined : this.running ? "initial list not done yet" : "not started");
    return {
      name: this.name,
      healthy: this.running && this.synced && this.problem === undefined,
      synced: this.synced,
      reason: this.running ? reason : "stopped",
      lastEventAt: iso(this.lastEventAt),
      lastSyncAt: iso(this.lastSyncAt),
      resourceVersion: this.resourceVersion,
      objects: this.cache.size,
      consecutiveFailures: this.consecutiveFailures,
      relists: this.relists,
      watchRestarts: this.watchRestarts,
    };
  }

  // ---- internals ----

  private async run(): Promise<void> {
    let needList = true;
    while (this.running) {
      let phase: "list" | "watch" = "watch";
      try {
        if (needList) {
          phase = "list";
          await this.relist();
          needList = false;
          phase = "watch";
        }
        const startedAt = Date.now();
        const sawEvents = await this.watchOnce();
        // A watch the server ended cleanly (its timeout): resume from the last RV. One that ended at once with
        // nothing in it counts as a failure so a misbehaving proxy cannot make us spin.
        if (!sawEvents && Date.now() - startedAt < 1000)
          await this.fail("watch", new Error("watch ended immediately without events"));
      } catch (err) {
        if (!this.running) break;
        if (err instanceof GoneError) {
          // Our resourceVersion was compacted away: only a fresh list can tell what happened meanwhile.
          this.logger.info("watch expired (410), relisting", {
            informer: this.name,
            resourceVersion: this.resourceVersion,
          });
          needList = true;
          // Gone again right after a fresh list would otherwise relist in a tight loop.
          if (Date.now() - (this.lastSyncAt ?? 0) < 1000) await this.fail("watch", err);
          continue;
        }
        if (err instanceof StaleWatchError) {
          this.watchRestarts++;
          this.problem = err.message;
          this.logger.warn("restarting stale watch", { informer: this.name, reason: err.message });
          continue;
        }
        await this.fail(phase, err);
      }
    }
  }

  private async fail(phase: "list" | "watch", err: unknown): Promise<void> {
    this.consecutiveFailures++;
    const message = err instanceof Error ? err.message : String(err);
    this.problem = `${phase} failing (${this.consecutiveFailures}x): ${message}`;
    this.logger.warn("informer error, retrying", {
      informer: this.name,
      error: message,
      attempt: this.consecutiveFailures,
    });
    const exp = Math.min(this.opts.backoffMaxMs, this.opts.backoffInitialMs * 2 ** (this.consecutiveFailures - 1));
    const delay = exp * (0.8 + Math.random() * 0.4);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, delay);
      this.stopController.signal.addEventListener(
        "abort",
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.listWatch.list(this.stopController.signal);
    const listed = items.map((o) => this.transform(o));
    const firstSync = !this.synced;
    const diff = diffRelist(this.cache, listed);
    this.resourceVersion = resourceVersion;
    this.relists++;
    this.touch(true);
    this.lastSyncAt = Date.now();
    // consecutiveFailures is reset once a watch opens: a list that works followed by a watch that 410s at once
    // must keep growing the backoff.
    this.problem = undefined;
    for (const obj of diff.deleted) {
      this.remove(obj);
      this.emit("delete", obj);
    }
    for (const obj of diff.added) {
      this.put(obj);
      this.emit("add", obj);
    }
    for (const [oldObj, newObj] of diff.updated) {
      this.put(newObj);
      this.emit("update", oldObj, newObj);
    }
    if (firstSync) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  /** One watch from the current RV until the server ends it. Answers whether any event or bookmark arrived. */
  private async watchOnce(): Promise<boolean> {
    const controller = new AbortController();
    this.watchController = controller;
    let activity = false;
    try {
      // stop() may have run while the list was in flight: the stop signal ends this watch too.
      const events = this.listWatch.watch(this.resourceVersion, {
        signal: AbortSignal.any([controller.signal, this.stopController.signal]),
        timeoutSeconds: this.opts.watchTimeoutSeconds,
        onOpen: () => {
          // A fresh watch restarts the stale clock: the server ending idle watches at their timeout is itself a
          // sign of life. What the clock catches is a connection that hangs without delivering anything.
          this.touch(false);
          if (this.consecutiveFailures > 0 && this.problem?.startsWith("watch failing")) this.problem = undefined;
          this.consecutiveFailures = 0;
        },
      });
      for await (const ev of events) {
        activity = true;
        this.apply(ev);
      }
    } catch (err) {
      if (controller.signal.reason instanceof StaleWatchError) throw controller.signal.reason;
      throw err;
    } finally {
      this.watchController = undefined;
    }
    if (controller.signal.reason instanceof StaleWatchError) throw controller.signal.reason;
    return activity;
  }

  private apply(ev: WatchEvent<T>): void {
    const rv = ev.object.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    this.touch(true);
    // An event or bookmark proves the watch is live again after a stale restart.
    if (this.problem?.startsWith("stale watch")) this.problem = undefined;
    if (ev.type === "BOOKMARK") return;
    const obj = this.transform(ev.object);
    const key = objectKey(obj);
    const old = this.cache.get(key);
    if (ev.type === "DELETED") {
      if (!old) return; // already gone from our view (e.g. deleted again after a relist): no duplicate delete
      this.remove(obj);
      this.emit("delete", obj);
      return;
    }
    this.put(obj);
    if (!old) this.emit("add", obj);
    else if (old.metadata?.uid && obj.metadata?.uid && old.metadata.uid !== obj.metadata.uid) {
      this.emit("delete", old);
      this.emit("add", obj);
    } else this.emit("update", old, obj);
  }

  /** Caches `obj` under its key and its namespace. */
  private put(obj: T): void {
    const key = objectKey(obj);
    this.cache.set(key, obj);
    const ns = obj.metadata?.namespace;
    if (ns === undefined) return;
    let inNamespace = this.byNamespace.get(ns);
    if (!inNamespace) {
      inNamespace = new Map();
      this.byNamespace.set(ns, inNamespace);
    }
    inNamespace.set(key, obj);
  }

  private remove(obj: T): void {
    const key = objectKey(obj);
    this.cache.delete(key);
    const ns = obj.metadata?.namespace;
    const inNamespace = ns === undefined ? undefined : this.byNamespace.get(ns);
    if (!inNamespace || ns === undefined) return;
    inNamespace.delete(key);
    if (inNamespace.size === 0) this.byNamespace.delete(ns);
  }

  private touch(event: boolean): void {
    const now = Date.now();
    this.lastActivity = now;
    if (event) this.lastEventAt = now;
  }

  private checkStale(): void {
    const idle = Date.now() - this.lastActivity;
    if (!this.watchController || idle <= this.opts.staleAfterMs) return;
    const seconds = Math.round(idle / 1000);
    this.watchController.abort(
      new StaleWatchError(
        `stale watch: no event or bookmark for ${seconds}s (limit ${this.opts.staleAfterMs / 1000}s); restarted`,
      ),
    );
  }

  private resync(): void {
    if (!this.synced) return;
    for (const obj of this.cache.values()) this.emit("update", obj, obj);
  }

  private emit(kind: "add" | "delete", obj: T): void;
  private emit(kind: "update", oldObj: T, newObj: T): void;
  private emit(kind: "add" | "update" | "delete", a: T, b?: T): void {
    for (const h of this.handlers) this.call(h, kind, a, b);
  }

  private call(h: InformerHandlers<T>, kind: "add" | "update" | "delete", a: T, b?: T): void {
    try {
      if (kind === "add") h.add?.(a);
      else if (kind === "delete") h.delete?.(a);
      else h.update?.(a, b ?? a);
    } catch (err) {
      // A handler bug must not kill the informer (and with it every other consumer of this cache).
      this.logger.error("informer handler threw", { informer: this.name, event: kind, error: (err as Error).message });
    }
  }
}
