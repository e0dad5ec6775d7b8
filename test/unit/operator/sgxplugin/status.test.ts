import { describe, expect, test } from "bun:test";
import { deriveSgxPluginStatus } from "../../../../src/operator/sgxplugin/status.ts";
import type { SGXPlugin } from "../../../../src/resources/sgx-plugin.ts";
import { canonicalJson } from "../../../../src/runtime/drift.ts";
import { clusterNodes, daemonSet, JUST_NOW, NOW, pod } from "../../../harness/kube-objects.ts";

const plugin = (): SGXPlugin => ({
  apiVersion: "base.scone.cloud/v1beta1",
  kind: "SGXPlugin",
  metadata: { name: "sgxplugin", generation: 3 },
  spec: {},
});

const pluginPods = (ready: Record<string, boolean> = {}, created?: string) =>
  ["sgx-1", "sgx-2", "sgx-3", "plain-1"].map((n) =>
    pod(`sgxplugin-${n}`, n, { app: "sgxplugin", ready: ready[n] ?? true, ...(created ? { created } : {}) }),
  );
const lasPods = () => ["sgx-1", "sgx-2", "sgx-3"].map((n) => pod(`las-${n}`, n, { app: "las", enclave: 1 }));
const ds = (o: Parameters<typeof daemonSet>[1] = {}) => daemonSet("sgxplugin", { desired: 4, ...o });
const derive = (...args: Parameters<typeof deriveSgxPluginStatus> extends [unknown, ...infer R] ? R : never) =>
  deriveSgxPluginStatus(plugin(), ...args);

describe("deriveSgxPluginStatus", () => {
  test("healthy: every SGX node has a ready plugin pod and free devices", () => {
    const s = derive(ds(), [...pluginPods(), ...lasPods()], clusterNodes(), { now: NOW });
    expect(s).toMatchObject({
      state: "HEALTHY",
      observedGeneration: 3,
      desiredReplicas: 4,
      readyReplicas: 4,
      servingReplicas: 3,
      healthyServingReplicas: 3,
      servingReplicaRatio: "3/3",
      sgxReplicaAlert: 0,
      sgxDeviceAlert: { SGX: 0 },
      capacitySGXDevices: 60,
      usedSGXDevices: 3,
      availableSGXDevices: 57,
      capacitySGXDevicesPerNode: { "sgx-1": 20, "sgx-2": 20, "sgx-3": 20 },
      usedSGXDevicesPerNode: { "sgx-1": 1, "sgx-2": 1, "sgx-3": 1 },
      availableSGXDevicesPerNode: { "sgx-1": 19, "sgx-2": 19, "sgx-3": 19 },
    });
    const ready = s.conditions?.find((c) => c.type === "Ready");
    expect(ready).toMatchObject({ status: "True", reason: "Healthy", observedGeneration: 3 });
    expect(s.conditions?.find((c) => c.type === "Degraded")?.status).toBe("False");
  });

  test("finished pods and pods of other namespaces on the node count by their devices only while running", () => {
    const done = pod("job", "sgx-2", { enclave: 5, phase: "Succeeded", namespace: "apps" });
    const app = pod("app", "sgx-2", { enclave: 2, namespace: "apps" });
    const s = derive(ds(), [...pluginPods(), done, app], clusterNodes(), { now: NOW });
    expect(s.usedSGXDevicesPerNode).toEqual({ "sgx-1": 0, "sgx-2": 2, "sgx-3": 0 });
  });

  test("pending: a new DaemonSet without status, or pods not ready yet within the progress deadline", () => {
    const fresh = derive(ds({ noStatus: true, created: JUST_NOW }), [], clusterNodes(), { now: NOW });
    expect(fresh).toMatchObject({ state: "PENDING", desiredReplicas: -1, readyReplicas: -1, sgxReplicaAlert: 3 });
    expect(fresh.conditions?.find((c) => c.type === "Ready")?.reason).toBe("Installing");

    const young = derive(ds({ ready: 2 }), pluginPods({ "sgx-2": false, "sgx-3": false }, JUST_NOW), clusterNodes(), {
      now: NOW,
    });
    expect(young).toMatchObject({ state: "PENDING", sgxReplicaAlert: 2 });
    expect(young.conditions?.find((c) => c.type === "Degraded")?.status).toBe("False");
  });

  test("pending while the DaemonSet rolls a new template out, even when all pods are ready", () => {
    const s = derive(ds({ generation: 2, observedGeneration: 2, updated: 1 }), pluginPods(), clusterNodes(), {
      now: NOW,
    });
    expect(s.state).toBe("PENDING");
    expect(s.conditions?.find((c) => c.type === "Progressing")).toMatchObject({ status: "True", reason: "RollingOut" });
  });

  test("unhealthy: a plugin pod unready past the deadline, or an SGX node without a free device", () => {
    const unready = derive(ds({ ready: 3 }), pluginPods({ "sgx-2": false }), clusterNodes(), { now: NOW });
    expect(unready).toMatchObject({ state: "UNHEALTHY", sgxReplicaAlert: 1, servingReplicaRatio: "3/3" });
    expect(unready.conditions?.find((c) => c.type === "Degraded")).toMatchObject({
      status: "True",
      reason: "PluginPodsUnavailable",
    });

    const full = pod("big", "sgx-1", { enclave: 20, namespace: "apps" });
    const s = derive(ds(), [...pluginPods(), full], clusterNodes(), { now: NOW });
    expect(s).toMatchObject({
      state: "UNHEALTHY",
      healthyServingReplicas: 2,
      servingReplicaRatio: "2/3",
      sgxDeviceAlert: { SGX: 1 },
      availableSGXDevicesPerNode: { "sgx-1": 0, "sgx-2": 20, "sgx-3": 20 },
    });
  });

  test("-1 where a figure cannot be calculated: no DaemonSet, unknown nodes or pods (unhealthy at once)", () => {
    const noDs = derive(undefined, pluginPods(), clusterNodes(), { now: NOW });
    expect(noDs).toMatchObject({ desiredReplicas: -1, readyReplicas: -1, servingReplicas: -1, sgxReplicaAlert: -1 });
    expect(noDs.state).toBe("PENDING");

    const noNodes = derive(ds({ created: JUST_NOW }), pluginPods(), undefined, { now: NOW });
    expect(noNodes).toMatchObject({
      state: "UNHEALTHY",
      servingReplicas: -1,
      healthyServingReplicas: -1,
      servingReplicaRatio: "-1/-1",
      capacitySGXDevices: -1,
      availableSGXDevices: -1,
      usedSGXDevices: -1,
      sgxReplicaAlert: -1,
      sgxDeviceAlert: { SGX: -1 },
    });
    const noPods = derive(ds(), undefined, clusterNodes(), { now: NOW });
    expect(noPods).toMatchObject({
      state: "UNHEALTHY",
      capacitySGXDevices: 60,
      usedSGXDevices: -1,
      sgxReplicaAlert: -1,
    });
  });

  test("no selected SGX node: waiting (PENDING), never UNHEALTHY", () => {
    const s = derive(ds({ nodeSelector: { only: "plain" }, desired: 0 }), [], clusterNodes(), { now: NOW });
    expect(s).toMatchObject({ state: "PENDING", servingReplicas: 0, servingReplicaRatio: "0/0" });
    expect(s.conditions?.find((c) => c.type === "Ready")?.reason).toBe("NoSGXNodes");
  });

  test("a node offering devices counts as SGX node even before it carries the label", () => {
    const nodes = clusterNodes();
    delete nodes[0]?.metadata?.labels?.["sgx.intel.com/capable"];
    expect(derive(ds(), pluginPods(), nodes, { now: NOW }).servingReplicas).toBe(3);
  });

  test("steady state: deriving again from an unchanged cluster gives the identical status", () => {
    const pods = [...pluginPods(), ...lasPods()];
    const first = derive(ds(), pods, clusterNodes(), { now: NOW });
    const later = new Date(NOW.getTime() + 3_600_000);
    const again = deriveSgxPluginStatus({ ...plugin(), status: first }, ds(), pods, clusterNodes(), { now: later });
    expect(canonicalJson(again)).toBe(canonicalJson(first));
  });

  test("a condition's transition time moves only when its status changes", () => {
    const healthy = derive(ds(), pluginPods(), clusterNodes(), { now: NOW });
    const later = new Date(NOW.getTime() + 3_600_000);
    const broken = deriveSgxPluginStatus(
      { ...plugin(), status: healthy },
      ds({ ready: 3 }),
      pluginPods({ "sgx-1": false }),
      clusterNodes(),
      { now: later },
    );
    const t = (s: typeof healthy, type: string) => s.conditions?.find((c) => c.type === type)?.lastTransitionTime;
    expect(t(broken, "Ready")).toBe("2026-11-23T13:00:00Z");
    expect(t(broken, "Progressing")).toBe(t(healthy, "Progressing"));
  });
});
