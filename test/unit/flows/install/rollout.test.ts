import { describe, expect, test } from "bun:test";
import { rolloutComplete } from "../../../../src/flows/install/execute.ts";

const deployment = (status: Record<string, unknown>, generation = 2, replicas = 1) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "scone-controller-manager", namespace: "scone-system", generation },
  spec: { replicas },
  status: { conditions: [{ type: "Available", status: "True" }], ...status },
});

describe("rolloutComplete (install --wait)", () => {
  test("Available with no pod (maxUnavailable 1 of 1 replica) is not a finished rollout", () => {
    expect(rolloutComplete(deployment({ observedGeneration: 2, replicas: 1, updatedReplicas: 1 }))).toBe(false);
  });
  test("the old template still running, or a generation the controller has not seen, is not finished", () => {
    const old = { observedGeneration: 2, replicas: 2, updatedReplicas: 1, availableReplicas: 1 };
    expect(rolloutComplete(deployment(old))).toBe(false);
    const unseen = { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 };
    expect(rolloutComplete(deployment(unseen))).toBe(false);
  });
  test("every replica updated and available: finished", () => {
    const done = { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 };
    expect(rolloutComplete(deployment(done, 2, 2))).toBe(true);
  });
  test("no Available condition, or no object: not finished", () => {
    expect(rolloutComplete(undefined)).toBe(false);
    const d = deployment({ observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 });
    d.status.conditions = [{ type: "Available", status: "False" }];
    expect(rolloutComplete(d)).toBe(false);
  });
});
