import { describe, expect, test } from "bun:test";
import {
  diffNodeMetadata,
  planLasNodeLabels,
  planSgxNodeLabels,
  SGX_LABEL_MARKER,
  toMergePatch,
} from "../../../../src/operator/node-agent/node-labels.ts";
import { node, pod } from "../../../harness/kube-objects.ts";

const MARK = { [SGX_LABEL_MARKER]: "set-by-sgxplugin" };
const pluginPod = (n: string, ready = true) => pod(`sgxplugin-${n}`, n, { app: "sgxplugin", ready });
const all = (...names: string[]) => new Set(names);

describe("planSgxNodeLabels", () => {
  test("labels (and marks) an SGX node whose plugin pod is ready; not one whose pod is not ready yet", () => {
    const nodes = [node("a", { enclave: 20 }), node("b", { enclave: 20 })];
    const patches = planSgxNodeLabels(nodes, [pluginPod("a"), pluginPod("b", false)], all("a", "b"));
    expect(patches).toEqual([{ node: "a", labels: { "sgx.intel.com/capable": "true" }, annotations: MARK }]);
  });

  test("never labels a node without SGX devices, even with a ready plugin pod", () => {
    expect(planSgxNodeLabels([node("plain")], [pluginPod("plain")], all("plain"))).toEqual([]);
  });

  test("a label someone else set is left alone: not marked, not removed, not even on deletion", () => {
    const theirs = node("a", { enclave: 20, labels: { "sgx.intel.com/capable": "true" } });
    expect(planSgxNodeLabels([theirs], [pluginPod("a")], all("a"))).toEqual([]);
    expect(planSgxNodeLabels([theirs], [], all(), true)).toEqual([]);
  });

  test("an up-to-date labelled node gets no patch; a briefly unready pod does not unlabel it", () => {
    const ours = node("a", { enclave: 20, labels: { "sgx.intel.com/capable": "true" }, annotations: MARK });
    expect(planSgxNodeLabels([ours], [pluginPod("a", false)], all("a"))).toEqual([]);
  });

  test("unlabels nodes we labelled that lost their devices, are no longer selected, or when deleting", () => {
    const ours = (enclave?: number) =>
      node("a", { ...(enclave ? { enclave } : {}), labels: { "sgx.intel.com/capable": "true" }, annotations: MARK });
    const removal = [
      { node: "a", labels: { "sgx.intel.com/capable": null }, annotations: { [SGX_LABEL_MARKER]: null } },
    ];
    expect(planSgxNodeLabels([ours()], [pluginPod("a")], all("a"))).toEqual(removal);
    expect(planSgxNodeLabels([ours(20)], [pluginPod("a")], all())).toEqual(removal);
    expect(planSgxNodeLabels([ours(20)], [pluginPod("a")], all("a"), true)).toEqual(removal);
  });
});

describe("planLasNodeLabels", () => {
  test("selected nodes carry capable/ok as true/false; only differing keys are patched", () => {
    const nodes = [
      node("a"),
      node("b", { labels: { "las.scontain.com/capable": "true", "las.scontain.com/ok": "true" } }),
      node("c", { labels: { "las.scontain.com/capable": "true", "las.scontain.com/ok": "true" } }),
    ];
    const health = new Map([
      ["a", { capable: true, ok: true }],
      ["b", { capable: true, ok: true }],
      ["c", { capable: true, ok: false }],
    ]);
    expect(planLasNodeLabels(nodes, health)).toEqual([
      { node: "a", labels: { "las.scontain.com/capable": "true", "las.scontain.com/ok": "true" }, annotations: {} },
      { node: "c", labels: { "las.scontain.com/ok": "false" }, annotations: {} },
    ]);
  });

  test("nodes LAS does not select lose the labels; deletion removes them everywhere; bare nodes get nothing", () => {
    const labelled = node("x", { labels: { "las.scontain.com/capable": "false", "las.scontain.com/ok": "false" } });
    const removal = { "las.scontain.com/capable": null, "las.scontain.com/ok": null };
    expect(planLasNodeLabels([labelled, node("y")], new Map())).toEqual([
      { node: "x", labels: removal, annotations: {} },
    ]);
    expect(planLasNodeLabels([labelled], new Map([["x", { capable: true, ok: true }]]), true)).toEqual([
      { node: "x", labels: removal, annotations: {} },
    ]);
  });
});

test("diffNodeMetadata and toMergePatch: null removes, unchanged keys are left out", () => {
  const n = node("a", { labels: { k: "v", gone: "1" } });
  const p = diffNodeMetadata(n, { k: "v", gone: null, add: "x" });
  expect(p).toEqual({ node: "a", labels: { gone: null, add: "x" }, annotations: {} });
  expect(p && toMergePatch(p)).toEqual({ metadata: { labels: { gone: null, add: "x" } } });
  expect(diffNodeMetadata(n, { k: "v", absent: null })).toBeUndefined();
});
