import { expect, test } from "bun:test";
import type { V1Node } from "@kubernetes/client-node";
import { primaryOf } from "../../../../src/operator/kit/caches.ts";
import { nodeFingerprint } from "../../../../src/operator/kit/node-watch.ts";
import { isPodReady, podEnclaveRequest } from "../../../../src/operator/node-agent/node-facts.ts";
import { slimPod } from "../../../../src/operator/node-agent/nodes.ts";
import { node, pod } from "../../../harness/kube-objects.ts";

const res = (name: string, created: string, deleting = false) => ({
  metadata: {
    name,
    creationTimestamp: created as unknown as Date,
    ...(deleting ? { deletionTimestamp: created as unknown as Date } : {}),
  },
});

test("the reconciled resource of a one-per-cluster kind is the oldest not being deleted (name breaks ties)", () => {
  const a = res("a", "2026-01-02T00:00:00Z");
  const b = res("b", "2026-01-01T00:00:00Z");
  const c = res("c", "2026-01-01T00:00:00Z");
  expect(primaryOf([a, c, b])?.metadata.name).toBe("b");
  expect(primaryOf([a, res("b", "2026-01-01T00:00:00Z", true)])?.metadata.name).toBe("a");
  expect(primaryOf([])).toBeUndefined();
});

test("node heartbeats do not change the fingerprint; labels, devices and readiness do", () => {
  const n = node("a", { enclave: 20 });
  const beat = (t: string): V1Node => ({
    ...n,
    status: {
      ...n.status,
      conditions: [{ type: "Ready", status: "True", lastHeartbeatTime: t as unknown as Date }],
    },
  });
  expect(nodeFingerprint(beat("2026-01-01T00:00:00Z"))).toBe(nodeFingerprint(beat("2026-01-01T00:01:00Z")));
  expect(nodeFingerprint(node("a", { enclave: 19 }))).not.toBe(nodeFingerprint(n));
  expect(nodeFingerprint(node("a", { enclave: 20, labels: { x: "y" } }))).not.toBe(nodeFingerprint(n));
});

test("a slim pod keeps what device counting and readiness need", () => {
  const full = pod("p", "sgx-1", { enclave: 2, app: "sgxplugin" });
  full.spec = { ...full.spec, containers: [...(full.spec?.containers ?? [])], volumes: [{ name: "big" }] };
  const slim = slimPod(full);
  expect(podEnclaveRequest(slim)).toBe(2);
  expect(isPodReady(slim)).toBe(true);
  expect(slim.spec?.nodeName).toBe("sgx-1");
  expect(slim.metadata?.labels).toEqual({ "app.kubernetes.io/name": "sgxplugin" });
  expect(slim.spec?.volumes).toBeUndefined();
});
