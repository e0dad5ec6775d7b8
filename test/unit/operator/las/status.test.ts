import { describe, expect, test } from "bun:test";
import { deriveLasStatus, imageVersion, lasNodeHealth, observeLasNodes } from "../../../../src/operator/las/status.ts";
import type { LAS } from "../../../../src/resources/las.ts";
import { canonicalJson } from "../../../../src/runtime/drift.ts";
import { clusterNodes, daemonSet, JUST_NOW, NOW, pod } from "../../../harness/kube-objects.ts";

const KEY = "ab".repeat(32);
const las = (): LAS => ({
  apiVersion: "base.scone.cloud/v1beta1",
  kind: "LAS",
  metadata: { name: "las", generation: 2 },
  spec: {},
});
const SELECT_SGX = { "sgx.intel.com/capable": "true" };
const ds = (o: Parameters<typeof daemonSet>[1] = {}) =>
  daemonSet("las", { nodeSelector: SELECT_SGX, desired: 3, ...o });
const lasPod = (n: string, o: Parameters<typeof pod>[2] = {}) =>
  pod(`las-${n}`, n, { app: "las", enclave: 1, containersReady: { las: true, probe: true }, ...o });
const allPods = () => ["sgx-1", "sgx-2", "sgx-3"].map((n) => lasPod(n));

describe("deriveLasStatus", () => {
  test("healthy: a ready LAS pod on every SGX node; per-node entries with the QE key from the log", () => {
    const s = deriveLasStatus(las(), ds(), allPods(), clusterNodes(), {
      now: NOW,
      logFacts: (uid) => (uid === "uid-las-sgx-1" ? { publicKey: KEY, computedAt: 1000 } : undefined),
    });
    expect(s).toMatchObject({
      state: "HEALTHY",
      version: "1.2.3",
      observedGeneration: 2,
      desiredNumberScheduled: 3,
      numberAvailable: 3,
      lasReplicaAlert: 0,
      lasProbeAlert: 0,
    });
    expect(Object.keys(s.nodes ?? {})).toEqual(["sgx-1", "sgx-2", "sgx-3"]);
    expect(s.nodes?.["sgx-1"]).toEqual({
      isReady: true,
      hasDCAPQuote: true,
      hasEPIDQuote: false,
      publicKey: KEY,
      lasProbeAlert: 0,
      lastComputedAt: 1000,
      lastProbedAt: Date.parse("2026-11-23T10:00:00Z") / 1000,
      lastRunningStartedAt: Date.parse("2026-11-23T10:00:00Z") / 1000,
    });
    expect(s.nodes?.["sgx-2"]).toMatchObject({ publicKey: "", lastComputedAt: 0 });
    expect(s.nodes?.["sgx-2"]?.errorMessages).toBeUndefined();
  });

  test("a log read that found no key is reported on the node, without changing health", () => {
    const s = deriveLasStatus(las(), ds(), allPods(), clusterNodes(), {
      now: NOW,
      logFacts: () => ({ computedAt: 5 }),
    });
    expect(s.state).toBe("HEALTHY");
    expect(s.nodes?.["sgx-3"]?.errorMessages).toEqual(["QE public key not found in the LAS log"]);
  });

  test("a failing probe past the deadline: probe and replica alerts, UNHEALTHY", () => {
    const pods = [
      lasPod("sgx-1"),
      lasPod("sgx-2", { ready: false, containersReady: { las: true, probe: false } }),
      lasPod("sgx-3"),
    ];
    const s = deriveLasStatus(las(), ds({ available: 2, ready: 2 }), pods, clusterNodes(), { now: NOW });
    expect(s).toMatchObject({ state: "UNHEALTHY", lasProbeAlert: 1, lasReplicaAlert: 1, numberAvailable: 2 });
    expect(s.nodes?.["sgx-2"]).toMatchObject({ isReady: true, hasDCAPQuote: false, lasProbeAlert: 1 });
    expect(s.nodes?.["sgx-2"]?.errorMessages).toEqual(["LAS probe fails"]);
    const health = lasNodeHealth(observeLasNodes(ds(), pods, clusterNodes()));
    expect(health.get("sgx-2")).toEqual({ capable: true, ok: false });
    expect(health.get("sgx-1")).toEqual({ capable: true, ok: true });
    expect(health.has("plain-1")).toBe(false);
  });

  test("a missing pod: -1 probe alert on that node; PENDING while young, UNHEALTHY after the deadline", () => {
    const pods = allPods().slice(0, 2);
    const old = deriveLasStatus(las(), ds({ available: 2 }), pods, clusterNodes(), { now: NOW });
    expect(old).toMatchObject({ state: "UNHEALTHY", lasReplicaAlert: 1, lasProbeAlert: 0 });
    expect(old.nodes?.["sgx-3"]).toMatchObject({ isReady: false, lasProbeAlert: -1, lastProbedAt: 0 });
    expect(old.nodes?.["sgx-3"]?.errorMessages).toEqual(["no LAS pod on this node"]);
    const young = deriveLasStatus(las(), ds({ available: 2, created: JUST_NOW }), pods, clusterNodes(), { now: NOW });
    expect(young.state).toBe("PENDING");
  });

  test("-1 where it cannot be calculated; no selected node is PENDING", () => {
    const none = deriveLasStatus(las(), undefined, undefined, undefined, { now: NOW });
    expect(none).toMatchObject({
      state: "PENDING",
      desiredNumberScheduled: -1,
      numberAvailable: -1,
      lasReplicaAlert: -1,
      lasProbeAlert: -1,
      nodes: {},
    });
    const unknown = deriveLasStatus(las(), ds(), allPods(), undefined, { now: NOW });
    expect(unknown).toMatchObject({ state: "UNHEALTHY", lasReplicaAlert: -1, desiredNumberScheduled: 3 });
    const nowhere = deriveLasStatus(las(), ds({ nodeSelector: { x: "y" }, desired: 0 }), [], clusterNodes(), {
      now: NOW,
    });
    expect(nowhere).toMatchObject({ state: "PENDING", lasReplicaAlert: 0 });
    expect(nowhere.conditions?.find((c) => c.type === "Ready")?.reason).toBe("NoSGXNodes");
  });

  test("version: the image tag the pods run; the template's while pods disagree (rolling)", () => {
    const pods = [lasPod("sgx-1", { image: "r/las:2.0" }), lasPod("sgx-2"), lasPod("sgx-3")];
    const s = deriveLasStatus(las(), ds({ image: "r/las:2.0" }), pods, clusterNodes(), { now: NOW });
    expect(s.version).toBe("2.0");
    expect(imageVersion("registry:5000/scone/las:6.0.6")).toBe("6.0.6");
    expect(imageVersion("registry:5000/scone/las")).toBe("");
    expect(imageVersion("r/las@sha256:00ff")).toBe("sha256:00ff");
  });

  test("steady state: deriving again later from an unchanged cluster gives the identical status", () => {
    const facts = () => ({ publicKey: KEY, computedAt: 77 });
    const first = deriveLasStatus(las(), ds(), allPods(), clusterNodes(), { now: NOW, logFacts: facts });
    const again = deriveLasStatus({ ...las(), status: first }, ds(), allPods(), clusterNodes(), {
      now: new Date(NOW.getTime() + 86_400_000),
      logFacts: facts,
    });
    expect(canonicalJson(again)).toBe(canonicalJson(first));
  });
});
