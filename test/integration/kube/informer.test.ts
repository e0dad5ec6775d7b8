// Informers against a real API server that restarts and whose etcd is compacted: every create and delete is
// seen exactly once, and a lost watch shows in health() while it lasts.
import { beforeAll, describe, expect, test } from "bun:test";
import type { V1ConfigMap } from "@kubernetes/client-node";
import type { KubeClient } from "../../../src/kube/client.ts";
import { AlreadyExistsError } from "../../../src/kube/errors.ts";
import { clientListWatch, Informer } from "../../../src/kube/informer.ts";
import { SharedInformers } from "../../../src/kube/shared-informers.ts";
import type { KubeLogger } from "../../../src/kube/types.ts";
import { clusterAvailable, type LocalCluster } from "../../harness/cluster.ts";
import { CuttableProxy, clientThrough, useTestNamespace, waitFor } from "../../harness/kube.ts";

const CM = { apiVersion: "v1", kind: "ConfigMap" } as const;
const quiet: KubeLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Event log per object name: "add", "update", "delete" (with uid suffix on adds/deletes to see recreation). */
function recordByName(inf: Informer<V1ConfigMap>): Map<string, string[]> {
  const byName = new Map<string, string[]>();
  const push = (o: V1ConfigMap, what: string) => {
    const name = o.metadata?.name ?? "?";
    byName.set(name, [...(byName.get(name) ?? []), what]);
  };
  inf.addHandlers({
    add: (o) => push(o, `add ${o.metadata?.uid?.slice(0, 8)}`),
    update: (_, o) => push(o, `update ${o.data?.v ?? ""}`),
    delete: (o) => push(o, `delete ${o.metadata?.uid?.slice(0, 8)}`),
  });
  return byName;
}

const uid8 = (o: V1ConfigMap) => o.metadata?.uid?.slice(0, 8);

describe.skipIf(!clusterAvailable())("informer on a real API server", () => {
  const env = useTestNamespace("kube-informer");
  let cluster: LocalCluster;
  let admin: KubeClient;
  let ns: string;
  beforeAll(() => {
    ({ cluster, admin, ns } = env);
  });

  const make = (name: string, label: string, v = "1") =>
    admin.create<V1ConfigMap>({ ...CM, metadata: { name, namespace: ns, labels: { kubetest: label } }, data: { v } });
  const update = (name: string, v: string) =>
    admin.patch<V1ConfigMap>({ ...CM, name, namespace: ns }, { data: { v } }, "merge");
  const remove = (name: string) => admin.delete({ ...CM, name, namespace: ns });

  test("survives an API-server restart without missing or repeating a create or delete; the outage shows in health()", async () => {
    const a = await make("a", "restart");
    const b = await make("b", "restart");
    await make("x", "other"); // outside the label scope: never reported
    const inf = new Informer<V1ConfigMap>(
      clientListWatch(admin, { type: CM, namespace: ns, labelSelector: "kubetest=restart" }),
      { logger: quiet, backoffInitialMs: 200, backoffMaxMs: 1000, name: "restart" },
    );
    const log = recordByName(inf);
    inf.start();
    try {
      await inf.waitForSync();
      expect(inf.health().healthy).toBe(true);

      await cluster.stopApiServer();
      const down = await waitFor("health() to report the lost watch", () => {
        const h = inf.health();
        return h.healthy ? undefined : h;
      });
      expect(down.reason).toMatch(/watch failing/);

      await cluster.startApiServer();
      // A create whose answer was lost to the restart may have been stored: the retry then finds it (409).
      const c = await waitFor("the API server to take writes", () =>
        make("c", "restart").catch(async (error: unknown) => {
          if (!(error instanceof AlreadyExistsError)) throw error;
          return admin.get<V1ConfigMap>({ ...CM, name: "c", namespace: ns });
        }),
      );
      await remove("a");
      await update("b", "2");

      await waitFor("the informer to catch up", () =>
        inf.get(ns, "c") && !inf.get(ns, "a") && inf.get(ns, "b")?.data?.v === "2" && inf.health().healthy
          ? true
          : undefined,
      );
      expect(Object.fromEntries(log)).toEqual({
        a: [`add ${uid8(a)}`, `delete ${uid8(a)}`],
        b: [`add ${uid8(b)}`, "update 2"],
        c: [`add ${uid8(c)}`],
      });
      expect(
        inf
          .list()
          .map((o) => o.metadata?.name)
          .sort(),
      ).toEqual(["b", "c"]);
    } finally {
      await inf.stop();
    }
  }, 240_000);

  test("after an etcd compaction (410 Gone) it relists and reports exactly what changed while it was cut off", async () => {
    const proxy = new CuttableProxy("127.0.0.1", Number(new URL(cluster.server).port));
    const viaProxy = await clientThrough(cluster, proxy);
    const p = await make("p", "compact");
    const q = await make("q", "compact");
    const r1 = await make("r", "compact");
    const inf = new Informer<V1ConfigMap>(
      clientListWatch(viaProxy, { type: CM, namespace: ns, labelSelector: "kubetest=compact" }),
      { logger: quiet, backoffInitialMs: 200, backoffMaxMs: 1000, name: "compact" },
    );
    const log = recordByName(inf);
    inf.start();
    try {
      await inf.waitForSync();
      const relistsBefore = inf.health().relists;

      proxy.block();
      await waitFor("health() to report the cut watch", () => (inf.health().healthy ? undefined : true));

      // While the informer is cut off: a create, a delete, an update, and a delete+recreate under one name.
      const s = await make("s", "compact");
      await remove("p");
      await update("q", "2");
      await remove("r");
      const r2 = await make("r", "compact", "new");
      // Compact history past everything the informer knew, and restart the API server so its watch cache
      // cannot serve the old resourceVersion either: resuming must now answer 410.
      await cluster.compactEtcd();
      await cluster.restartApiServer();

      proxy.unblock();
      await waitFor("the informer to relist and catch up", () =>
        inf.get(ns, "s") && inf.health().healthy && inf.health().relists > relistsBefore ? true : undefined,
      );
      expect(inf.health().relists).toBe(relistsBefore + 1);
      expect(Object.fromEntries(log)).toEqual({
        p: [`add ${uid8(p)}`, `delete ${uid8(p)}`],
        q: [`add ${uid8(q)}`, "update 2"],
        r: [`add ${uid8(r1)}`, `delete ${uid8(r1)}`, `add ${uid8(r2)}`],
        s: [`add ${uid8(s)}`],
      });

      // And it keeps watching after the relist.
      await remove("s");
      await waitFor("the delete after relist", () => (inf.get(ns, "s") ? undefined : true));
      expect(log.get("s")).toEqual([`add ${uid8(s)}`, `delete ${uid8(s)}`]);
    } finally {
      await inf.stop();
      proxy.stop();
    }
  }, 240_000);

  test("shared informers: two consumers of one scope share one informer; health aggregates", async () => {
    const factory = new SharedInformers(admin, { logger: quiet, stripManagedFields: true });
    const scope = { type: CM, namespace: ns, labelSelector: "kubetest=shared" };
    const one = factory.informer<V1ConfigMap>(scope);
    const two = factory.informer<V1ConfigMap>(scope);
    expect(two).toBe(one);
    const pods = factory.informer({ type: { apiVersion: "v1", kind: "Pod" }, namespace: ns });
    expect(pods).not.toBe(one as unknown);
    factory.start();
    try {
      await factory.waitForSync();
      await make("shared1", "shared");
      const cached = await waitFor("the shared cache", () => one.get(ns, "shared1"));
      expect(cached.metadata?.managedFields).toBeUndefined();
      const h = factory.health();
      expect(h.healthy).toBe(true);
      expect(h.informers).toHaveLength(2);
    } finally {
      await factory.stop();
    }
    expect(factory.health().healthy).toBe(false);
  });
});
