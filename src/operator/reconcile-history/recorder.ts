// The leader writes each reconcile outcome to the cluster (record.ts says where and why): an Event on the resource
// when a reconcile failed or changed something, and the resource's bounded history ConfigMap. Only the leader runs
// controllers, so only it writes. Writes per resource are serialized; a new leader reads the ConfigMap before its
// first write, so the history carries on across restarts and leader changes. A quiet reconcile (nothing changed,
// nothing wrong) that repeats the newest entry is folded in memory and written with the next real change: a steady
// state costs no write. Failures are logged, never thrown into the controller.
import type { KubeClient } from "../../kube/client.ts";
import { isConflict } from "../../kube/errors.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { Logger } from "../../log.ts";
import { isSconeKind, resourceDefinitions } from "../../resources/kinds.ts";
import type { ReconcileRecord } from "../../runtime/controller.ts";
import type { ObjectReader } from "../reconcile-kit.ts";
import {
  appendEntry,
  decodeRecord,
  encodeRecord,
  entryOf,
  HISTORY_KEY,
  HISTORY_KIND_LABEL,
  HISTORY_LABELS,
  type HistoryEntry,
  type HistoryRecord,
  historyConfigMapName,
  isQuiet,
} from "./record.ts";

export interface ClusterHistoryOptions {
  readonly client: KubeClient;
  /** Finds the reconciled resource (its uid for the ownerReference; the informer cache in the operator). */
  readonly reader: ObjectReader;
  readonly events: {
    record(o: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void;
  };
  /** Where the history of cluster-scoped kinds (LAS, SGXPlugin) lives. */
  readonly operatorNamespace: string;
  /** This replica (written into each entry). */
  readonly by: string;
  /** The kind a controller reconciles (`cas` → `CAS`). */
  readonly kindOf: (controller: string) => string;
  readonly log: Logger;
  /** Resources whose record is kept in memory (oldest forgotten first; it is re-read before the next write). */
  readonly maxCached?: number;
}

interface Cached {
  record: HistoryRecord;
  /** Of the ConfigMap last read or written; undefined: not there. */
  resourceVersion: string | undefined;
}

const CONFIGMAP = { apiVersion: "v1", kind: "ConfigMap" } as const;
interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

export class ClusterHistory {
  private readonly cache = new Map<string, Cached>();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly o: ClusterHistoryOptions) {}

  /** Records one reconcile; resolves when written (or folded, or dropped with a log line). Never rejects. */
  record(r: ReconcileRecord): Promise<void> {
    const kind = this.o.kindOf(r.controller);
    if (!isSconeKind(kind)) return Promise.resolve();
    const key = `${kind}/${r.request.namespace ?? ""}/${r.request.name}`;
    const next = (this.chains.get(key) ?? Promise.resolve())
      .then(() => this.write(kind, key, r))
      .catch((e) =>
        this.o.log.warn("could not record reconcile history in the cluster", {
          resource: key,
          error: e instanceof Error ? e.message : String(e),
        }),
      );
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return next;
  }

  private async write(kind: keyof typeof resourceDefinitions, key: string, r: ReconcileRecord): Promise<void> {
    const def = resourceDefinitions[kind];
    const apiVersion = `${def.group}/${def.version}`;
    const namespace = def.scope === "Namespaced" ? (r.request.namespace ?? "") : "";
    const found = await this.o.reader.get<KubeObject>({
      apiVersion,
      kind,
      name: r.request.name,
      ...(namespace ? { namespace } : {}),
    });
    // Deleted: its history ConfigMap goes with it (ownerReference); nothing to attach an Event to either.
    if (!found?.metadata?.uid) return;
    // Items of an informer's list carry no apiVersion and kind.
    const owner: KubeObject = { ...found, apiVersion, kind };
    const entry = entryOf(r, this.o.by);
    if (entry.error !== undefined) this.o.events.record(owner, "Warning", "ReconcileFailed", entry.error);
    else if (entry.actions.length > 0) this.o.events.record(owner, "Normal", "Reconciled", entry.actions.join("; "));

    const where = {
      namespace: namespace || this.o.operatorNamespace,
      name: historyConfigMapName(kind, r.request.name),
    };
    const empty: HistoryRecord = { kind, namespace, name: r.request.name, entries: [] };
    let cached = this.cache.get(key) ?? (await this.load(where, empty));
    const { record, folded } = appendEntry(cached.record, entry);
    this.remember(key, { ...cached, record });
    if (folded && isQuiet(entry)) return;
    try {
      cached = await this.store(where, owner, { ...cached, record });
    } catch (e) {
      if (!isConflict(e)) throw e;
      // Another writer (a previous leader's last write): read theirs and add ours to it.
      const fresh = await this.load(where, empty);
      cached = await this.store(where, owner, { ...fresh, record: appendEntry(fresh.record, entry).record });
    }
    this.remember(key, cached);
  }

  private remember(key: string, c: Cached): void {
    this.cache.delete(key);
    this.cache.set(key, c);
    if (this.cache.size > (this.o.maxCached ?? 5000)) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }

  private async load(where: { namespace: string; name: string }, empty: HistoryRecord): Promise<Cached> {
    const cm = await this.o.client.tryGet<ConfigMap>({ ...CONFIGMAP, ...where });
    const decoded = decodeRecord(cm?.data?.[HISTORY_KEY]);
    // Only the entries: the identity is ours (a ConfigMap of that name written by someone else says nothing).
    return {
      record: { ...empty, entries: decoded?.entries ?? ([] as HistoryEntry[]) },
      resourceVersion: cm?.metadata?.resourceVersion,
    };
  }

  private async store(where: { namespace: string; name: string }, owner: KubeObject, c: Cached): Promise<Cached> {
    const cm: ConfigMap = {
      ...CONFIGMAP,
      metadata: {
        ...where,
        labels: { ...HISTORY_LABELS, [HISTORY_KIND_LABEL]: c.record.kind },
        ownerReferences: [
          {
            apiVersion: owner.apiVersion as string,
            kind: owner.kind as string,
            name: owner.metadata?.name ?? "",
            uid: owner.metadata?.uid ?? "",
          },
        ],
        // The precondition: an update of what we read, or a create of what was not there.
        ...(c.resourceVersion ? { resourceVersion: c.resourceVersion } : {}),
      },
      data: { [HISTORY_KEY]: encodeRecord(c.record) },
    };
    const written = c.resourceVersion
      ? await this.o.client.replace<ConfigMap>(cm)
      : await this.o.client.create<ConfigMap>(cm);
    return { record: c.record, resourceVersion: written.metadata?.resourceVersion };
  }
}
