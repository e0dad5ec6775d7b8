import { describe, expect, test } from "bun:test";
import type { V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import {
  orderedEnvironment,
  renderVaultObjects,
  renderVaultStatefulSet,
} from "../../../../src/operator/vault/render.ts";
import { deriveVaultStatus } from "../../../../src/operator/vault/status.ts";
import { validate } from "../../../../src/resources/validation.ts";
import type { Vault } from "../../../../src/resources/vault.ts";
import { sampleVault } from "../../../harness/vault-sample.ts";
import { expectGolden } from "../golden/render-golden.ts";

describe("render", () => {
  test("the upstream sample and a vault with data storage match the golden YAML", async () => {
    const sample = await sampleVault();
    expect(validate("Vault", sample)).toEqual([]);
    const withStorage: Vault = {
      ...sample,
      spec: {
        ...sample.spec,
        nodeSelector: { "sgx.intel.com/capable": "true" },
        server: {
          ...sample.spec?.server,
          dataStorage: { enabled: true },
          readinessProbe: { enabled: true },
          extraInitContainers: [{ name: "wait-for-cas", image: "busybox", command: ["true"] }],
        },
      },
    } as Vault;
    await expectGolden("../vault/golden/vault.yaml", [
      ...renderVaultObjects(sample),
      renderVaultStatefulSet(withStorage),
    ]);
  });

  test("environment variables come after the ones they reference, pod facts first", async () => {
    const env = renderVaultStatefulSet(await sampleVault()).spec?.template.spec?.containers[0]?.env ?? [];
    const names = env.map((e) => e.name);
    expect(names.slice(0, 2)).toEqual(["HOST_IP", "POD_IP"]);
    expect(names.indexOf("OWNER_ID")).toBeLessThan(names.indexOf("SCONE_CONFIG_ID"));
    expect(env.find((e) => e.name === "SCONE_CONFIG_ID")?.value).toBe("vault-$(OWNER_ID)/dev");
    expect(orderedEnvironment({ B: "$(A)", A: "$(B)" }).map((e) => e.name)).toEqual(["B", "A"]);
    expect(orderedEnvironment({ Z: "$(Y)", Y: "1", A: "x" }).map((e) => e.name)).toEqual(["A", "Y", "Z"]);
  });

  test("the SGX enclave limit is added when the spec has none; quantities canonical", async () => {
    const v = await sampleVault();
    const noSgx = {
      ...v,
      spec: { ...v.spec, server: { ...v.spec?.server, resources: { limits: { memory: "1024Mi" } } } },
    } as Vault;
    expect(renderVaultStatefulSet(noSgx).spec?.template.spec?.containers[0]?.resources?.limits).toEqual({
      memory: "1Gi",
      "sgx.intel.com/enclave": "1",
    });
  });
});

describe("status", () => {
  const now = new Date("2026-01-01T12:00:00Z");
  const old = new Date("2026-01-01T11:00:00Z");
  const sts = (ready: number): V1StatefulSet => ({
    metadata: { name: "vault", generation: 1, creationTimestamp: old },
    spec: { replicas: 1, selector: {}, serviceName: "vault-internal", template: {} },
    status: {
      replicas: 1,
      readyReplicas: ready,
      updatedReplicas: 1,
      observedGeneration: 1,
      currentRevision: "r",
      updateRevision: "r",
    },
  });
  const pod = (ready: boolean, extra: Partial<V1Pod["status"]> = {}): V1Pod => ({
    metadata: { name: "vault-0", creationTimestamp: old },
    status: {
      phase: ready ? "Running" : "Pending",
      conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
      ...extra,
    },
  });

  test("one ready pod: HEALTHY, no alert, initStatement kept", async () => {
    const v = { ...(await sampleVault()), status: { state: "PENDING", initStatement: "c2VjcmV0" } } as Vault;
    const s = deriveVaultStatus(v, { statefulSet: sts(1), pods: [pod(true)], now });
    expect(s).toMatchObject({
      state: "HEALTHY",
      desiredReplicas: 1,
      readyReplicas: 1,
      sgxReplicaAlert: 0,
      initStatement: "c2VjcmV0",
    });
  });

  test("a pod that cannot be scheduled for longer than the deadline: UNHEALTHY with the reason", async () => {
    const stuck = pod(false, {
      conditions: [
        {
          type: "PodScheduled",
          status: "False",
          reason: "Unschedulable",
          message: "0/4 nodes: Insufficient sgx.intel.com/enclave",
        },
      ],
    });
    const s = deriveVaultStatus(await sampleVault(), { statefulSet: sts(0), pods: [stuck], now });
    expect(s).toMatchObject({ state: "UNHEALTHY", readyReplicas: 0, sgxReplicaAlert: 1, initStatement: "" });
    expect(s.conditions?.find((c) => c.type === "Degraded")?.message).toContain("Insufficient sgx.intel.com/enclave");
  });

  test("a new StatefulSet whose pod is not ready yet: PENDING", async () => {
    const fresh = { ...sts(0), metadata: { ...sts(0).metadata, creationTimestamp: new Date("2026-01-01T11:59:30Z") } };
    expect(deriveVaultStatus(await sampleVault(), { statefulSet: fresh, pods: [], now }).state).toBe("PENDING");
  });
});
