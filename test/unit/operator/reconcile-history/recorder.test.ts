// ClusterHistory over an in-memory API (create/replace with resourceVersion preconditions, as the API server does):
// what it writes, when it does not write, how a new leader carries on the record, and the Events it records.
import { describe, expect, test } from "bun:test";
import type { KubeClient } from "../../../../src/kube/client.ts";
import { ConflictError } from "../../../../src/kube/errors.ts";
import type { KubeObject, ObjectRef } from "../../../../src/kube/types.ts";
import { createLogger } from "../../../../src/log.ts";
import { decodeRecord, HISTORY_KEY } from "../../../../src/operator/reconcile-history/record.ts";
import { ClusterHistory } from "../../../../src/operator/reconcile-history/recorder.ts";
import type { ReconcileRecord } from "../../../../src/runtime/controller.ts";

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

/** ConfigMaps by namespace/name; writes counted; `race` changes one behind the writer's back once. */
function fakeApi() {
  const maps = new Map<string, ConfigMap>();
  let rv = 0;
  const writes: string[] = [];
  const key = (o: ConfigMap | ObjectRef) =>
    "kind" in o && "name" in o && typeof o.name === "string"
      ? `${(o as ObjectRef).namespace}/${o.name}`
      : `${(o as ConfigMap).metadata?.namespace}/${(o as ConfigMap).metadata?.name}`;
  const conflict = (path: string) =>
    new ConflictError(
      { code: 409, reason: "Conflict", message: "the object has been modified" },
      { method: "PUT", path },
    );
  const save = (o: ConfigMap) => {
    const stored = { ...o, metadata: { ...o.metadata, resourceVersion: String(++rv) } };
    maps.set(key(o), stored);
    return structuredClone(stored);
  };
  const client = {
    tryGet: async (ref: ObjectRef) => structuredClone(maps.get(key(ref))),
    create: async (o: ConfigMap) => {
      writes.push(`create ${key(o)}`);
      if (maps.has(key(o))) throw conflict(key(o));
      return save(o);
    },
    replace: async (o: ConfigMap) => {
      writes.push(`replace ${key(o)}`);
      if (maps.get(key(o))?.metadata?.resourceVersion !== o.metadata?.resourceVersion) throw conflict(key(o));
      return save(o);
    },
  } as unknown as KubeClient;
  return { client, maps, writes, save };
}

const CAS = {
  apiVersion: "services.scone.cloud/v1beta1",
  kind: "CAS",
  metadata: { name: "cas", namespace: "prod", uid: "uid-cas" },
};
const silent = createLogger({ level: "error", sink: { write: () => true } as unknown as NodeJS.WritableStream });

function recorder(api: ReturnType<typeof fakeApi>, by: string, objects: KubeObject[] = [CAS]) {
  const events: string[] = [];
  const history = new ClusterHistory({
    client: api.client,
    reader: {
      get: async <T extends KubeObject>(ref: ObjectRef) =>
        // Informer items carry no apiVersion/kind.
        objects
          .filter((o) => o.metadata?.name === ref.name && o.metadata?.namespace === ref.namespace)
          .map(({ metadata }) => ({ metadata }) as T)[0],
    },
    events: { record: (o, type, reason, message) => events.push(`${o.kind} ${type} ${reason}: ${message}`) },
    operatorNamespace: "scone-system",
    by,
    kindOf: (c) => ({ cas: "CAS", las: "LAS" })[c] ?? c,
    log: silent,
  });
  return { history, events };
}

let clock = Date.UTC(2026, 11, 7, 12, 0, 0);
function reconcile(extra: Partial<ReconcileRecord> = {}): ReconcileRecord {
  clock += 1000;
  return {
    controller: "cas",
    request: { namespace: "prod", name: "cas" },
    startedAt: clock,
    durationMs: 5,
    outcome: "success",
    actions: [],
    ...extra,
  };
}
const stored = (api: ReturnType<typeof fakeApi>, at = "prod/scone-history-cas-cas") =>
  decodeRecord(api.maps.get(at)?.data?.[HISTORY_KEY]);

describe("ClusterHistory", () => {
  test("writes a ConfigMap beside the resource, owned by it, not labelled for the controllers' informers", async () => {
    const api = fakeApi();
    const { history, events } = recorder(api, "pod-a");
    await history.record(reconcile({ actions: ["created StatefulSet prod/cas"] }));
    const cm = api.maps.get("prod/scone-history-cas-cas");
    expect(cm?.metadata?.ownerReferences).toEqual([
      { apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", name: "cas", uid: "uid-cas" },
    ]);
    expect(cm?.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBeUndefined();
    expect(cm?.metadata?.labels?.["scone.cloud/history-kind"]).toBe("CAS");
    expect(stored(api)?.entries.map((e) => [e.result, e.actions, e.by])).toEqual([
      ["success", ["created StatefulSet prod/cas"], "pod-a"],
    ]);
    expect(events).toEqual(["CAS Normal Reconciled: created StatefulSet prod/cas"]);
  });

  test("a quiet repeat is not written (steady state costs nothing); the next change writes the folded count", async () => {
    const api = fakeApi();
    const { history, events } = recorder(api, "pod-a");
    await history.record(reconcile());
    await history.record(reconcile());
    await history.record(reconcile());
    expect(api.writes).toEqual(["create prod/scone-history-cas-cas"]);
    expect(events).toEqual([]);
    await history.record(reconcile({ outcome: "error", error: "CAS unreachable" }));
    expect(api.writes).toHaveLength(2);
    expect(stored(api)?.entries.map((e) => [e.result, e.repeats ?? 1])).toEqual([
      ["error", 1],
      ["success", 3],
    ]);
    expect(events).toEqual(["CAS Warning ReconcileFailed: CAS unreachable"]);
  });

  test("a new leader reads the record before its first write: the history carries on across restarts", async () => {
    const api = fakeApi();
    await recorder(api, "pod-a").history.record(reconcile({ actions: ["created"] }));
    const next = recorder(api, "pod-b").history;
    await next.record(reconcile({ actions: ["updated"] }));
    expect(stored(api)?.entries.map((e) => `${e.by}:${e.actions[0]}`)).toEqual(["pod-b:updated", "pod-a:created"]);
  });

  test("a write racing another writer's re-reads and keeps both entries", async () => {
    const api = fakeApi();
    const a = recorder(api, "pod-a").history;
    await a.record(reconcile({ actions: ["first"] }));
    // Another replica wrote meanwhile (its last reconcile before losing the lease).
    await recorder(api, "pod-b").history.record(reconcile({ actions: ["theirs"] }));
    await a.record(reconcile({ actions: ["ours"] }));
    expect(stored(api)?.entries.map((e) => e.actions[0])).toEqual(["ours", "theirs", "first"]);
    expect(api.writes.filter((w) => w.startsWith("replace"))).toHaveLength(3);
  });

  test("cluster-scoped kinds go to the operator's namespace; a deleted resource and other kinds write nothing", async () => {
    const api = fakeApi();
    const las = { metadata: { name: "las", uid: "uid-las" } } as KubeObject;
    const { history } = recorder(api, "pod-a", [CAS, las]);
    await history.record(reconcile({ controller: "las", request: { name: "las" }, actions: ["x"] }));
    expect(stored(api, "scone-system/scone-history-las-las")?.namespace).toBe("");
    await history.record(reconcile({ request: { namespace: "prod", name: "gone" }, actions: ["x"] }));
    await history.record(reconcile({ controller: "something-else", actions: ["x"] }));
    expect(api.writes).toEqual(["create scone-system/scone-history-las-las"]);
  });
});
