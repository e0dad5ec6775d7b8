// The Vault reconciler's decisions, pure: refuse or apply, the failed status, whose pods, when to look again.
import { describe, expect, test } from "bun:test";
import type { V1Pod } from "@kubernetes/client-node";
import {
  applyFailedMessage,
  degradedMessage,
  failedVaultStatus,
  planVault,
  podsOfVault,
  requeueAfter,
} from "../../../../src/operator/vault/plan.ts";
import type { Vault } from "../../../../src/resources/vault.ts";
import { sampleVault } from "../../../harness/vault-sample.ts";

const NOW = new Date("2026-01-01T12:00:00Z");

describe("planVault", () => {
  test("allowed: the StatefulSet first, then the client and the internal Service", async () => {
    const plan = planVault(await sampleVault(), []);
    expect(plan.kind).toBe("apply");
    if (plan.kind !== "apply") return;
    expect(plan.desired.map((o) => `${o.kind} ${o.metadata?.namespace}/${o.metadata?.name}`)).toEqual([
      "StatefulSet vault-ns/vault",
      "Service vault-ns/vault",
      "Service vault-ns/vault-internal",
    ]);
  });

  test("refused by the admission policy: nothing rendered, every issue named", async () => {
    const plan = planVault(await sampleVault(), ["spec.server.image: not allowed", "spec.x: bad"]);
    expect(plan).toEqual({
      kind: "refuse",
      reason: "NotAllowed",
      message: "spec.server.image: not allowed; spec.x: bad",
    });
  });
});

describe("failedVaultStatus", () => {
  test("UNHEALTHY with the reason on every condition; the rest of the previous status kept", async () => {
    const v = { ...(await sampleVault()), status: { state: "HEALTHY", initStatement: "c2Vj", readyReplicas: 1 } };
    const s = failedVaultStatus(v as Vault, "ApplyFailed", "quota exceeded", NOW);
    expect(s).toMatchObject({ state: "UNHEALTHY", initStatement: "c2Vj", readyReplicas: 1 });
    expect(s.conditions?.map((c) => [c.type, c.status, c.reason, c.message])).toEqual([
      ["Ready", "False", "ApplyFailed", "quota exceeded"],
      ["Progressing", "False", "ApplyFailed", "quota exceeded"],
      ["Degraded", "True", "ApplyFailed", "quota exceeded"],
    ]);
    expect(degradedMessage(s)).toBe("quota exceeded");
  });

  test("a first status has an empty initStatement (the CRD requires it)", async () => {
    expect(failedVaultStatus(await sampleVault(), "NotAllowed", "no", NOW).initStatement).toBe("");
  });
});

describe("podsOfVault", () => {
  const pod = (namespace: string, instance: string): V1Pod => ({
    metadata: { name: `${instance}-0`, namespace, labels: { "app.kubernetes.io/instance": instance } },
  });
  test("only the pods of its namespace carrying its instance label", async () => {
    const mine = pod("vault-ns", "vault");
    expect(podsOfVault(await sampleVault(), [mine, pod("other-ns", "vault"), pod("vault-ns", "vault-2")])).toEqual([
      mine,
    ]);
  });
});

describe("requeueAfter and applyFailedMessage", () => {
  test("no look again once HEALTHY; otherwise after the recheck interval", () => {
    expect(requeueAfter({ state: "HEALTHY", initStatement: "" }, 500)).toBeUndefined();
    expect(requeueAfter({ state: "PENDING", initStatement: "" }, 500)).toBe(500);
    expect(requeueAfter({ state: "UNHEALTHY", initStatement: "" }, 500)).toBe(500);
  });
  test("the failed apply's cause is quoted", () => {
    expect(applyFailedMessage(new Error("namespace vault-ns not found"))).toBe(
      "applying the Vault's objects failed: namespace vault-ns not found",
    );
    expect(applyFailedMessage("boom")).toBe("applying the Vault's objects failed: boom");
  });
});
