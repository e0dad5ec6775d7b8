// Which pod and port a port-forward to a Service uses (kubectl port-forward service/NAME semantics).
import { describe, expect, test } from "bun:test";
import type { V1Pod, V1Service } from "@kubernetes/client-node";
import { chooseServiceTarget, ServiceTargetError } from "../../harness/service-target.ts";

const service: V1Service = {
  metadata: { name: "cas", namespace: "scone" },
  spec: {
    selector: { app: "cas" },
    ports: [
      { name: "client", port: 8081, targetPort: "client" },
      { name: "enclave", port: 18765, targetPort: 28765 },
      { name: "plain", port: 9000 },
    ],
  },
};
const pod = (name: string, phase: string, ready: boolean, extra: Partial<V1Pod["metadata"]> = {}): V1Pod => ({
  metadata: { name, ...extra },
  spec: { containers: [{ name: "cas", ports: [{ name: "client", containerPort: 18081 }] }] },
  status: { phase, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});

describe("chooseServiceTarget", () => {
  test("named, numbered and absent target ports", () => {
    const pods = [pod("cas-0", "Running", true)];
    expect(chooseServiceTarget(service, pods, 8081)).toEqual({ pod: "cas-0", port: 18081 });
    expect(chooseServiceTarget(service, pods, 18765)).toEqual({ pod: "cas-0", port: 28765 });
    expect(chooseServiceTarget(service, pods, 9000)).toEqual({ pod: "cas-0", port: 9000 });
  });

  test("a ready running pod first; pending and terminating pods never", () => {
    const pods = [
      pod("a", "Pending", false),
      pod("b", "Running", false),
      pod("c", "Running", true, { deletionTimestamp: new Date() }),
      pod("d", "Running", true),
    ];
    expect(chooseServiceTarget(service, pods, 8081).pod).toBe("d");
    expect(chooseServiceTarget(service, pods.slice(0, 3), 8081).pod).toBe("b");
  });

  test("errors name the service and what is missing", () => {
    expect(() => chooseServiceTarget(service, [pod("x", "Running", true)], 1234)).toThrow(
      /service scone\/cas has no port 1234 \(its ports: 8081, 18765, 9000\)/,
    );
    expect(() => chooseServiceTarget(service, [pod("x", "Pending", false)], 8081)).toThrow(ServiceTargetError);
    const unnamed = { ...pod("x", "Running", true), spec: { containers: [{ name: "c" }] } };
    expect(() => chooseServiceTarget(service, [unnamed], 8081)).toThrow(/no container port named "client"/);
  });
});
