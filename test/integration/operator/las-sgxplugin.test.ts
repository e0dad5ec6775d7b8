// The SGXPlugin and LAS controllers against the real local cluster (3 SGX nodes + 1 plain node, run by kwok):
// the upstream samples become HEALTHY, DaemonSets land on the right nodes, node labels follow, a deleted
// DaemonSet comes back, an image change rolls out, a steady state writes nothing, deletion cleans up.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { V1DaemonSet, V1Node, V1Pod } from "@kubernetes/client-node";
import { parse } from "yaml";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { LAS_TYPE, registerLasController } from "../../../src/operator/las/controller.ts";
import { SGX_LABEL_MARKER } from "../../../src/operator/node-agent/node-labels.ts";
import { registerSgxPluginController, SGXPLUGIN_TYPE } from "../../../src/operator/sgxplugin/controller.ts";
import type { LAS } from "../../../src/resources/las.ts";
import type { SGXPlugin } from "../../../src/resources/sgx-plugin.ts";
import type { Controller } from "../../../src/runtime/controller.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { waitFor as pollFor } from "../../harness/kube.ts";
import {
  buildOperatorContext,
  cleanupSteps,
  ensureNamespace,
  installCrds,
  restoreHarnessNodeLabels,
  type TestOperator,
  waitForCache,
  waitForMetrics,
} from "../../harness/operator.ts";
import { sharedPath } from "../../harness/shared.ts";

const SAMPLES = sharedPath("reference", "upstream-samples", "operator-samples");
// The samples name upstream's scone-system; this suite's DaemonSets go to a namespace of its own, so nothing another
// file left in scone-system (or still deletes there) is counted or adopted here.
const NS = `las-plugin-${Math.random().toString(36).slice(2, 8)}`;
const SGX_NODES = ["sgx-node-1", "sgx-node-2", "sgx-node-3"];
const ALL_NODES = [...SGX_NODES, "plain-node-1"];
const START_TIMEOUT_MS = 300_000;
const TEST_TIMEOUT_MS = 150_000;

/** The shared poll (test/harness/kube.ts) with this file's default timeout. */
const waitFor = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined, timeoutMs = 90_000) =>
  pollFor(what, probe, timeoutMs);

const sample = async (file: string): Promise<KubeObject & { spec: { namespace?: string } }> => {
  const o = parse(await Bun.file(join(SAMPLES, file)).text()) as KubeObject & { spec: { namespace?: string } };
  o.spec.namespace = NS;
  return o;
};

describe.skipIf(!clusterAvailable())("SGXPlugin and LAS controllers", () => {
  let cluster: LocalCluster;
  let op: TestOperator;
  let client: KubeClient;
  let lasController: Controller;
  let pluginController: Controller;

  const getLas = (name = "las") => client.tryGet<LAS>({ ...LAS_TYPE, name });
  const getPlugin = (name = "sgxplugin") => client.tryGet<SGXPlugin>({ ...SGXPLUGIN_TYPE, name });
  const getDs = (name: string) =>
    client.tryGet<V1DaemonSet>({ apiVersion: "apps/v1", kind: "DaemonSet", namespace: NS, name });
  const podsOf = async (app: string) =>
    (
      await client.list<V1Pod>(
        { apiVersion: "v1", kind: "Pod" },
        { namespace: NS, labelSelector: `app.kubernetes.io/name=${app}` },
      )
    ).items.filter((p) => !p.metadata?.deletionTimestamp);
  const nodeLabels = async () => {
    const nodes = (await client.list<V1Node>({ apiVersion: "v1", kind: "Node" })).items;
    return new Map(nodes.map((n) => [n.metadata?.name ?? "", n.metadata?.labels ?? {}]));
  };
  const runningNodes = (pods: V1Pod[]) =>
    pods
      .filter((p) => p.status?.phase === "Running")
      .map((p) => p.spec?.nodeName ?? "")
      .sort();
  const kubectl = async (args: string[]) => {
    const r = await cluster.kubectl(args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  /** HEALTHY for the current spec: a status from before the last spec change does not count. */
  const currentlyHealthy = (o: LAS | SGXPlugin | undefined) =>
    o?.status?.state === "HEALTHY" && o.status.observedGeneration === o.metadata.generation;
  /**
   * Both resources HEALTHY for their current generation with the DaemonSet figures caught up (HEALTHY follows the
   * pods, the counts follow the DaemonSet status, which the DaemonSet controller updates later), no controller
   * write for a while, and the informers holding what the API server holds. Returns the settled objects.
   */
  /** What the cluster looked like, for a timeout's message: the statuses, node readiness, unready pods. */
  const snapshot = async (): Promise<string> => {
    const brief = (o: LAS | SGXPlugin | undefined) =>
      JSON.stringify({
        generation: o?.metadata.generation,
        state: o?.status?.state,
        observedGeneration: o?.status?.observedGeneration,
        ready: o?.status?.conditions?.find((c) => c.type === "Ready")?.message,
      });
    const nodes = (await client.list<V1Node>({ apiVersion: "v1", kind: "Node" })).items.map(
      (n) => `${n.metadata?.name}=${n.status?.conditions?.find((c) => c.type === "Ready")?.status}`,
    );
    const unready = (await client.list<V1Pod>({ apiVersion: "v1", kind: "Pod" }, { namespace: NS })).items
      .filter((p) => p.status?.conditions?.find((c) => c.type === "Ready")?.status !== "True")
      .map((p) => `${p.metadata?.name}@${p.spec?.nodeName}:${p.status?.phase}`);
    return `las ${brief(await getLas())}; sgxplugin ${brief(await getPlugin())}; nodes ${nodes.join(",")}; unready pods [${unready.join(",")}]`;
  };
  const settled = async (): Promise<{ las: LAS; plugin: SGXPlugin }> => {
    try {
      await waitFor("LAS HEALTHY for its generation, every scheduled pod available", async () => {
        const l = await getLas();
        return currentlyHealthy(l) && l?.status?.numberAvailable === l?.status?.desiredNumberScheduled;
      });
      await waitFor("SGXPlugin HEALTHY for its generation, every scheduled pod ready", async () => {
        const p = await getPlugin();
        return currentlyHealthy(p) && p?.status?.readyReplicas === p?.status?.desiredReplicas;
      });
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.message : String(e)}; saw: ${await snapshot()}`);
    }
    await waitFor("no writes for 2 s", async () => {
      const n = op.writes.length;
      await Bun.sleep(2000);
      return op.writes.length === n;
    });
    await waitForCache(op, { ...LAS_TYPE, name: "las" });
    await waitForCache(op, { ...SGXPLUGIN_TYPE, name: "sgxplugin" });
    const [las, plugin] = [await getLas(), await getPlugin()];
    if (!las || !plugin) throw new Error("LAS or SGXPlugin vanished while settling");
    return { las, plugin };
  };

  beforeAll(async () => {
    cluster = await sharedCluster();
    op = await buildOperatorContext({ kubeconfigPath: cluster.kubeconfigPath, operatorNamespace: NS });
    client = op.client;
    await installCrds(client);
    await ensureNamespace(client, NS);
    pluginController = registerSgxPluginController(op.ctx);
    lasController = registerLasController(op.ctx);
    await op.start();
    for (const file of ["base_v1beta1_sgxplugin.yaml", "base_v1beta1_las.yaml"])
      await client.apply(await sample(file), { fieldManager: "kubectl", force: true });
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    // Leave the shared cluster as the harness made it: SGX nodes labelled, no LAS/SGXPlugin left behind. Every step
    // runs even when one before it fails.
    const refs = [
      { ...LAS_TYPE, name: "las" },
      { ...LAS_TYPE, name: "las-2" },
      { ...SGXPLUGIN_TYPE, name: "sgxplugin" },
    ];
    await cleanupSteps([
      () => op?.stop(),
      ...refs.flatMap((ref) => [
        () => client?.patch(ref, { metadata: { finalizers: null } }, "merge").catch(() => {}),
        () => client?.deleteIfExists(ref),
      ]),
      () => client && restoreHarnessNodeLabels(client),
      () => client?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: NS }),
    ]);
  }, 60_000);

  test(
    "the upstream samples become HEALTHY: plugin on every selected node, LAS on the SGX nodes only",
    async () => {
      await settled();
      // The plugin counts the devices the LAS pods hold once its pod informer has seen them scheduled, which may
      // come after both resources turned HEALTHY: await that status like any other.
      const plugin = await waitFor("the plugin counting the LAS pods' enclave devices", async () => {
        const p = await getPlugin();
        return SGX_NODES.every((n) => (p?.status?.usedSGXDevicesPerNode?.[n] ?? 0) >= 1) ? p : undefined;
      });
      expect(runningNodes(await podsOf("sgxplugin"))).toEqual([...ALL_NODES].sort());
      expect(runningNodes(await podsOf("las"))).toEqual(SGX_NODES);

      const las = await getLas();
      expect(las?.status).toMatchObject({
        state: "HEALTHY",
        version: "no-epid-production",
        desiredNumberScheduled: 3,
        numberAvailable: 3,
        lasReplicaAlert: 0,
        lasProbeAlert: 0,
      });
      expect(Object.keys(las?.status?.nodes ?? {}).sort()).toEqual(SGX_NODES);
      expect(las?.status?.nodes?.["sgx-node-1"]).toMatchObject({ isReady: true, hasDCAPQuote: true, lasProbeAlert: 0 });
      expect(las?.metadata.finalizers).toContain("base.scone.cloud/finalizer");

      expect(plugin?.status).toMatchObject({
        state: "HEALTHY",
        desiredReplicas: 4,
        readyReplicas: 4,
        servingReplicas: 3,
        healthyServingReplicas: 3,
        servingReplicaRatio: "3/3",
        sgxReplicaAlert: 0,
        sgxDeviceAlert: { SGX: 0 },
        capacitySGXDevices: 60,
      });
      // Each SGX node runs one LAS pod holding one enclave device (other tests may add more).
      for (const n of SGX_NODES) {
        expect(plugin?.status?.usedSGXDevicesPerNode?.[n]).toBeGreaterThanOrEqual(1);
        expect(plugin?.status?.availableSGXDevicesPerNode?.[n]).toBe(
          20 - (plugin?.status?.usedSGXDevicesPerNode?.[n] ?? 0),
        );
      }
      expect(plugin?.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({
        status: "True",
        observedGeneration: plugin?.metadata.generation,
      });
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "LAS node labels: capable and ok on the SGX nodes, none on the plain node",
    async () => {
      await settled();
      // The labels are written by the LAS reconcile after the pods' readiness, not with the status: awaited too.
      const labels = await waitFor("the LAS labels on the SGX nodes", async () => {
        const all = await nodeLabels();
        return SGX_NODES.every((n) => all.get(n)?.["las.scontain.com/ok"] === "true") ? all : undefined;
      });
      for (const n of SGX_NODES)
        expect(labels.get(n)).toMatchObject({ "las.scontain.com/capable": "true", "las.scontain.com/ok": "true" });
      expect(labels.get("plain-node-1")?.["las.scontain.com/capable"]).toBeUndefined();
      expect(labels.get("plain-node-1")?.["sgx.intel.com/capable"]).toBeUndefined();
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "kubectl get las,sgxplugin shows the upstream columns",
    async () => {
      await settled();
      const out = await kubectl(["get", "las,sgxplugin"]);
      const lines = out.split("\n").map((l) => l.trim().split(/\s+/));
      const header = (first: string) => lines.find((l) => l[0] === "NAME" && l.includes(first));
      expect(header("AVAILABLE")).toEqual(["NAME", "STATUS", "AVAILABLE", "DESIRED", "VERSION", "AGE"]);
      expect(lines.find((l) => l[0] === "las.base.scone.cloud/las")?.slice(1, 5)).toEqual([
        "HEALTHY",
        "3",
        "3",
        "no-epid-production",
      ]);
      expect(header("SERVING")).toEqual(["NAME", "STATUS", "SERVING", "SELECTED", "READY", "AGE"]);
      expect(lines.find((l) => l[0] === "sgxplugin.base.scone.cloud/sgxplugin")?.slice(1, 5)).toEqual([
        "HEALTHY",
        "3/3",
        "4",
        "4",
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "reconciling a steady LAS and SGXPlugin makes no write request; the gauges report them",
    async () => {
      await settled();
      // The counter sees the controllers' writes (creating everything took some).
      expect(op.writes.some((w) => w.startsWith(`PATCH /apis/apps/v1/namespaces/${NS}/daemonsets/`))).toBe(true);
      const before = op.writes.length;
      const records = [
        await lasController.processKey("las"),
        await pluginController.processKey("sgxplugin"),
        await lasController.processKey("las"),
        await pluginController.processKey("sgxplugin"),
      ];
      expect(op.writes.slice(before)).toEqual([]);
      for (const r of records) {
        expect(r.outcome === "success" || r.outcome === "requeue").toBe(true);
        expect(r.actions).toEqual([]);
      }
      await waitForMetrics(op, [
        'scone_las_state{cr_name="las",cr_namespace=""} 1',
        'scone_las_desired_number_scheduled{cr_name="las",cr_namespace=""} 3',
        'scone_sgxplugin_state{cr_name="sgxplugin",cr_namespace=""} 1',
        'scone_sgxplugin_serving_replica_ratio{cr_name="sgxplugin",cr_namespace=""} 1',
        'scone_sgxplugin_capacity_sgx_devices_per_node{cr_name="sgxplugin",cr_namespace="",node="sgx-node-2"} 20',
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a deleted DaemonSet comes back",
    async () => {
      await settled();
      const old = await getDs("las");
      await client.delete({ apiVersion: "apps/v1", kind: "DaemonSet", namespace: NS, name: "las" });
      const again = await waitFor("LAS DaemonSet re-created", async () => {
        const ds = await getDs("las");
        return ds && ds.metadata?.uid !== old?.metadata?.uid && !ds.metadata?.deletionTimestamp ? ds : undefined;
      });
      expect(again.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "LAS", name: "las" });
      // Cluster-scoped resources get their Events in "default" (where other files' LAS "las" left theirs: the uid
      // tells this one).
      const lasUid = (await getLas())?.metadata.uid;
      await waitFor("a DaemonSetRecreated Event on the LAS", async () => {
        const events = await client.list<
          KubeObject & { reason?: string; involvedObject?: { kind?: string; uid?: string } }
        >({ apiVersion: "v1", kind: "Event" }, { namespace: "default", fieldSelector: "involvedObject.name=las" });
        return events.items.some(
          (e) =>
            e.reason === "DaemonSetRecreated" && e.involvedObject?.kind === "LAS" && e.involvedObject.uid === lasUid,
        );
      });
      await waitFor("LAS pods Running again on the SGX nodes", async () => {
        const pods = await podsOf("las");
        return runningNodes(pods).join() === SGX_NODES.join() && pods.length === 3;
      });
      await settled();
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a changed image rolls out: the DaemonSet template changes and every pod is replaced",
    async () => {
      await settled();
      const before = new Set((await podsOf("las")).map((p) => p.metadata?.uid));
      const image = "registry.scontain.com/scone.cloud/las:6.0.7";
      // Quantities in a non-canonical form too: the server stores "250m" and "512Mi", and a steady state must
      // still compare equal (below).
      const resources = { requests: { cpu: "0.25", memory: "0.5Gi" } };
      await client.patch({ ...LAS_TYPE, name: "las" }, { spec: { image, resources } }, "merge");
      await waitFor("DaemonSet template with the new image", async () => {
        const ds = await getDs("las");
        return ds?.spec?.template.spec?.containers.every((c) => c.image === image);
      });
      await waitFor(
        "every LAS pod replaced and Running with the new image",
        async () => {
          const pods = await podsOf("las");
          return (
            pods.length === 3 &&
            pods.every(
              (p) =>
                !before.has(p.metadata?.uid) && p.status?.phase === "Running" && p.spec?.containers[0]?.image === image,
            )
          );
        },
        120_000,
      );
      await waitFor("LAS HEALTHY at version 6.0.7", async () => {
        const las = await getLas();
        return currentlyHealthy(las) && las?.status?.version === "6.0.7";
      });
      await settled();
      const before2 = op.writes.length;
      expect((await lasController.processKey("las")).actions).toEqual([]);
      expect(op.writes.slice(before2)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a namespace that does not exist shows as ApplyFailed; once it exists the DaemonSet moves there",
    async () => {
      await settled();
      const moved = `las-moved-${Math.random().toString(36).slice(2, 7)}`;
      await client.patch({ ...LAS_TYPE, name: "las" }, { spec: { namespace: moved } }, "merge");
      const failed = await waitFor("ApplyFailed in status", async () => {
        const l = await getLas();
        return l?.status?.conditions?.some((c) => c.type === "Ready" && c.reason === "ApplyFailed") ? l : undefined;
      });
      expect(failed.status?.state).toBe("UNHEALTHY");
      await ensureNamespace(client, moved);
      const ref = { apiVersion: "apps/v1", kind: "DaemonSet", name: "las" };
      await waitFor("DaemonSet in the new namespace, the old one pruned", async () => {
        const there = await client.tryGet({ ...ref, namespace: moved });
        return there !== undefined && (await getDs("las")) === undefined;
      });
      // The status before the move said HEALTHY too: only one for the moved spec counts.
      await waitFor("LAS HEALTHY in the new namespace", async () => currentlyHealthy(await getLas()));
      await client.patch({ ...LAS_TYPE, name: "las" }, { spec: { namespace: NS } }, "merge");
      await waitFor(`back in ${NS}`, async () => (await client.tryGet({ ...ref, namespace: moved })) === undefined);
      await client.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: moved });
      await settled();
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a second LAS is not reconciled and says so; deleting it leaves the first alone",
    async () => {
      await settled();
      await client.apply(
        {
          apiVersion: LAS_TYPE.apiVersion,
          kind: "LAS",
          metadata: { name: "las-2" },
          spec: { namespace: NS },
        } as KubeObject,
        { fieldManager: "kubectl" },
      );
      const second = await waitFor("las-2 refused", async () => {
        const l = await getLas("las-2");
        return l?.status?.conditions?.some((c) => c.reason === "NotReconciled") ? l : undefined;
      });
      expect(second.status?.state).toBe("UNHEALTHY");
      expect(second.status?.conditions?.find((c) => c.type === "Ready")?.message).toContain("LAS las is");
      await client.delete({ ...LAS_TYPE, name: "las-2" });
      await waitFor("las-2 gone", async () => (await getLas("las-2")) === undefined);
      await settled();
      const labels = await nodeLabels();
      for (const n of SGX_NODES) expect(labels.get(n)?.["las.scontain.com/ok"]).toBe("true");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "deleting the LAS removes its DaemonSet, its node labels and its gauges",
    async () => {
      await settled();
      await client.delete({ ...LAS_TYPE, name: "las" });
      await waitFor("LAS gone", async () => (await getLas()) === undefined);
      await waitFor("LAS DaemonSet gone", async () => (await getDs("las")) === undefined);
      await waitFor("LAS node labels gone", async () => {
        const labels = await nodeLabels();
        return [...labels.values()].every(
          (l) => l["las.scontain.com/capable"] === undefined && l["las.scontain.com/ok"] === undefined,
        );
      });
      await waitFor(
        "LAS gauges gone",
        async () => !op.ctx.manager.metrics.render().includes('scone_las_state{cr_name="las"'),
      );
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "the plugin labels an SGX node that lost its label, and on deletion removes only the labels it set",
    async () => {
      await waitFor("SGXPlugin HEALTHY", async () => currentlyHealthy(await getPlugin()));
      await client.patch(
        { apiVersion: "v1", kind: "Node", name: "sgx-node-3" },
        { metadata: { labels: { "sgx.intel.com/capable": null } } },
        "merge",
      );
      await waitFor("sgx-node-3 labelled again, marked as set by the plugin", async () => {
        const n = await client.get<V1Node>({ apiVersion: "v1", kind: "Node", name: "sgx-node-3" });
        return n.metadata?.labels?.["sgx.intel.com/capable"] === "true" && n.metadata.annotations?.[SGX_LABEL_MARKER];
      });
      await client.delete({ ...SGXPLUGIN_TYPE, name: "sgxplugin" });
      await waitFor("SGXPlugin gone", async () => (await getPlugin()) === undefined);
      await waitFor("plugin DaemonSet gone", async () => (await getDs("sgxplugin")) === undefined);
      await waitFor("the label the plugin set is removed", async () => {
        const labels = await nodeLabels();
        return labels.get("sgx-node-3")?.["sgx.intel.com/capable"] === undefined;
      });
      await waitFor(
        "SGXPlugin gauges gone",
        async () => !op.ctx.manager.metrics.render().includes('cr_name="sgxplugin"'),
      );
      const labels = await nodeLabels();
      // Labels set by someone else (here: the cluster harness) stay.
      expect(labels.get("sgx-node-1")?.["sgx.intel.com/capable"]).toBe("true");
      expect(labels.get("sgx-node-2")?.["sgx.intel.com/capable"]).toBe("true");
    },
    TEST_TIMEOUT_MS,
  );
});
