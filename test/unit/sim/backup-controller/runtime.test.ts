// The simulated backup controller's decisions: which nodes it registers, and for which version it labels them.
import { describe, expect, test } from "bun:test";
import type { V1Deployment, V1Node } from "@kubernetes/client-node";
import { nodesToRegister, registeredVersion } from "../../../../sim/backup-controller/runtime.ts";

const deployment = (env: Record<string, string>): V1Deployment => ({
  spec: {
    selector: {},
    template: {
      spec: { containers: [{ name: "bc", env: Object.entries(env).map(([name, value]) => ({ name, value })) }] },
    },
  },
});

const node = (name: string, labels: Record<string, string>, ready = true, unschedulable = false): V1Node => ({
  metadata: { name, labels },
  spec: { unschedulable },
  status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});

describe("simulated backup controller", () => {
  test("registers the version of the backup CAS image it deploys (BACKUP_CAS_IMAGE's tag)", () => {
    expect(registeredVersion(deployment({ BACKUP_CAS_IMAGE: "registry.example/scone.cloud/cas:6.0.7" }))).toBe("6.0.7");
    expect(registeredVersion(deployment({}))).toBeUndefined();
  });

  test("labels only schedulable, Ready nodes matching SELECTOR_LABELS", () => {
    const d = deployment({ SELECTOR_LABELS: JSON.stringify({ "las.scontain.com/ok": "true" }) });
    const ok = { "las.scontain.com/ok": "true" };
    const nodes = [node("a", ok), node("b", {}), node("c", ok, false), node("d", ok, true, true)];
    expect(nodesToRegister(d, nodes)).toEqual(["a"]);
  });
});
