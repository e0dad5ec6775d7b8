// Operation records in Kubernetes: one ConfigMap per operation, `scone-operation-<id>` in the operation's
// namespace, the record as JSON. Every API replica reads the same records; a write names the record version it
// read and is a replace with the ConfigMap's resourceVersion, so a concurrent writer makes it fail (StoreConflictError)
// exactly as the SQLite store's version check does. Finished records are pruned per namespace, newest kept.
import type { KubeClient } from "../../kube/client.ts";
import { ConflictError } from "../../kube/errors.ts";
import type { KubeObject } from "../../kube/types.ts";
import { StoreConflictError } from "../../store/errors.ts";
import { newOperationRecord, type OperationRecord, stale } from "../../store/operations.ts";
import type { OperationPageQuery, OperationRecords } from "./records.ts";

const CONFIG_MAP = { apiVersion: "v1", kind: "ConfigMap" } as const;
export const OPERATION_LABEL = "scone.cloud/operation";
const ID_LABEL = "scone.cloud/operation-id";
const FINISHED_LABEL = "scone.cloud/operation-finished";
const KEY = "operation.json";
/** Finished operations kept per namespace (the newest); unfinished ones are never pruned. */
export const FINISHED_KEPT = 100;

interface OperationConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const LABEL_VALUE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const operationObjectName = (id: string): string => `scone-operation-${id}`;

function toObject(op: OperationRecord, resourceVersion?: string): OperationConfigMap {
  const finished = op.phase === "succeeded" || op.phase === "failed";
  return {
    ...CONFIG_MAP,
    metadata: {
      name: operationObjectName(op.id),
      namespace: op.namespace,
      // No app.kubernetes.io/managed-by: no controller's informer should see these (like the history records).
      labels: { [OPERATION_LABEL]: "true", [ID_LABEL]: op.id, [FINISHED_LABEL]: String(finished) },
      ...(resourceVersion ? { resourceVersion } : {}),
    },
    data: { [KEY]: JSON.stringify(op) },
  };
}

/** The record in a ConfigMap, or undefined when it is not one (someone edited it by hand): such objects are skipped. */
export function fromObject(obj: OperationConfigMap): OperationRecord | undefined {
  const text = obj.data?.[KEY];
  if (text === undefined) return undefined;
  try {
    const op = JSON.parse(text) as OperationRecord;
    const sane =
      typeof op.id === "string" &&
      obj.metadata?.name === operationObjectName(op.id) &&
      op.namespace === obj.metadata?.namespace &&
      typeof op.version === "number" &&
      Array.isArray(op.stepsDone);
    return sane ? op : undefined;
  } catch {
    return undefined;
  }
}

const newestFirst = (a: OperationRecord, b: OperationRecord): number =>
  b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** The page of `records` the query asks for: filters, keyset position, newest first (pure). */
export function selectOperations(records: readonly OperationRecord[], q: OperationPageQuery): OperationRecord[] {
  return records
    .filter(
      (o) =>
        (q.kind === undefined || o.kind === q.kind) &&
        (q.name === undefined || o.name === q.name) &&
        (q.phase === undefined || o.phase === q.phase) &&
        (q.namespaces === undefined || q.namespaces.includes(o.namespace)) &&
        (q.after === undefined || o.createdAt < q.after.t || (o.createdAt === q.after.t && o.id < q.after.id)),
    )
    .sort(newestFirst)
    .slice(0, q.limit);
}

export function kubeOperationRecords(client: KubeClient, keep: number = FINISHED_KEPT): OperationRecords {
  const listIn = async (namespace: string | undefined, selector: string): Promise<OperationRecord[]> => {
    const list = await client.list<OperationConfigMap>(CONFIG_MAP, {
      ...(namespace ? { namespace } : {}),
      labelSelector: selector,
    });
    return list.items.map(fromObject).filter((o): o is OperationRecord => o !== undefined);
  };
  const listAll = async (namespaces: readonly string[] | undefined, selector: string) =>
    namespaces === undefined
      ? listIn(undefined, selector)
      : (await Promise.all(namespaces.map((ns) => listIn(ns, selector)))).flat();
  const read = async (namespace: string, id: string) =>
    client.tryGet<OperationConfigMap>({ ...CONFIG_MAP, namespace, name: operationObjectName(id) });

  const prune = async (namespace: string): Promise<void> => {
    const finished = (await listIn(namespace, `${OPERATION_LABEL}=true,${FINISHED_LABEL}=true`)).sort(newestFirst);
    for (const old of finished.slice(keep)) {
      await client.deleteIfExists({ ...CONFIG_MAP, namespace, name: operationObjectName(old.id) });
    }
  };

  return {
    async create(input) {
      const op = newOperationRecord(input);
      await client.create(toObject(op));
      return op;
    },
    async get(id) {
      if (!LABEL_VALUE.test(id)) return null;
      const [found] = await listIn(undefined, `${OPERATION_LABEL}=true,${ID_LABEL}=${id}`);
      return found ?? null;
    },
    async page(q) {
      const selector = `${OPERATION_LABEL}=true${q.phase === undefined ? "" : `,${FINISHED_LABEL}=${q.phase === "succeeded" || q.phase === "failed"}`}`;
      return selectOperations(await listAll(q.namespaces, selector), q);
    },
    async unfinished(target) {
      const ops = await listAll(
        target ? [target.namespace] : undefined,
        `${OPERATION_LABEL}=true,${FINISHED_LABEL}=false`,
      );
      return ops.filter((o) => target === undefined || o.name === target.name).sort(newestFirst);
    },
    async update(op, now, change) {
      const obj = await read(op.namespace, op.id);
      const latest = obj ? fromObject(obj) : undefined;
      if (!obj || !latest) throw new StoreConflictError(`operation ${op.id} no longer exists`);
      if (latest.version !== op.version) throw stale(op.id, latest.version, op.version);
      const updated: OperationRecord = { ...latest, ...change(latest), version: op.version + 1, updatedAt: now };
      try {
        await client.replace(toObject(updated, obj.metadata?.resourceVersion));
      } catch (err) {
        // Another replica wrote between our read and our replace.
        if (err instanceof ConflictError) throw stale(op.id, op.version + 1, op.version);
        throw err;
      }
      if (updated.phase === "succeeded" || updated.phase === "failed") await prune(op.namespace).catch(() => {});
      return updated;
    },
  };
}
