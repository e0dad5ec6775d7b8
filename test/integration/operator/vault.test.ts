// Vault on the real local cluster and the CAS simulator:
// - the controller: upstream's sample (operator-samples/5.8.0-rc.1_vault.yaml, $VARS filled) gets its StatefulSet
//   and Services, the pod runs on a simulated SGX node, the Vault reports HEALTHY with 1/1 ready, a steady state
//   writes nothing, and a deleted StatefulSet comes back;
// - `scone vault provision`: refuses a CAS that is not provisioned/HEALTHY (or absent) before it reaches CAS; the
//   sessions through the CAS driver, the Vault resource, the rerun and --print-public-keys are in
//   test/integration/flows/vault-driver.test.ts (the guide's line, compiled, on a scone-provisioned CAS).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Pod, V1Service, V1StatefulSet } from "@kubernetes/client-node";
import { run as runVaultCommand } from "../../../src/cli/run/vault.ts";
import type { SconeContext } from "../../../src/cli/spec.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { registerVaultController, VAULT_TYPE } from "../../../src/operator/vault/controller.ts";
import type { Vault } from "../../../src/resources/vault.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { waitFor } from "../../harness/kube.ts";
import { buildOperatorContext, cleanupSteps, installCrds, type TestOperator } from "../../harness/operator.ts";
import { sampleVault, VAULT_VARS } from "../../harness/vault-sample.ts";

const NS = `scone-vault-${Math.random().toString(36).slice(2, 8)}`;
const TEST_MANAGER = "scone-vault-test";
const CAS_TYPE = { apiVersion: "services.scone.cloud/v1beta1", kind: "CAS" };

describe.skipIf(!clusterAvailable())("Vault", () => {
  let cluster: LocalCluster;
  let op: TestOperator;
  let client: KubeClient;
  const root = mkdtempSync(join(tmpdir(), "scone-vault-"));

  const vaultRef = (name: string) => ({ ...VAULT_TYPE, namespace: NS, name });
  const getVault = (name: string) => client.get<Vault>(vaultRef(name));

  beforeAll(async () => {
    cluster = await sharedCluster();
    op = await buildOperatorContext({ kubeconfigPath: cluster.kubeconfigPath });
    client = op.client;
    await installCrds(client);
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    registerVaultController(op.ctx, { recheckMs: 1_000 });
    await op.start();
  }, 300_000);

  afterAll(async () => {
    // Every step runs even when one before it fails.
    await cleanupSteps([
      () => op?.stop(),
      () => rmSync(root, { recursive: true, force: true }),
      () => client?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: NS }),
    ]);
  }, 60_000);

  describe("controller", () => {
    test("the upstream sample runs: StatefulSet, Services, pod Running, HEALTHY 1/1", async () => {
      const sample = await sampleVault({ ...VAULT_VARS, NAMESPACE: NS });
      const { uid: _u, generation: _g, ...metadata } = sample.metadata;
      await client.apply({ ...sample, metadata } as KubeObject, { fieldManager: "kubectl", force: true });
      const vault = await waitFor(
        "the Vault HEALTHY",
        async () => {
          const v = await getVault("vault");
          return v.status?.state === "HEALTHY" ? v : undefined;
        },
        120_000,
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}; status: ${JSON.stringify((await getVault("vault")).status)}`);
      });
      expect(vault.status).toMatchObject({
        desiredReplicas: 1,
        readyReplicas: 1,
        sgxReplicaAlert: 0,
        initStatement: "",
      });
      expect(vault.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");

      const sts = await client.get<V1StatefulSet>({
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        namespace: NS,
        name: "vault",
      });
      expect(sts.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "Vault", name: "vault" });
      const container = sts.spec?.template.spec?.containers[0];
      expect(container?.image).toBe("registry.scontain.com/scone.cloud/vault:5.8.0");
      expect(container?.resources?.limits?.["sgx.intel.com/enclave"]).toBe("1");
      for (const name of ["vault", "vault-internal"]) {
        const svc = await client.get<V1Service>({ apiVersion: "v1", kind: "Service", namespace: NS, name });
        expect(svc.spec?.ports?.map((p) => p.port)).toEqual([8200, 8201]);
      }
      const internal = await client.get<V1Service>({
        apiVersion: "v1",
        kind: "Service",
        namespace: NS,
        name: "vault-internal",
      });
      expect(internal.spec?.clusterIP).toBe("None");
      const pod = await client.get<V1Pod>({ apiVersion: "v1", kind: "Pod", namespace: NS, name: "vault-0" });
      expect(pod.status?.phase).toBe("Running");
      expect(pod.spec?.nodeName).toMatch(/^sgx-node-/);
    }, 150_000);

    test("a steady state writes nothing; a deleted StatefulSet comes back", async () => {
      await waitFor("no writes for 2 s", async () => {
        const n = op.writes.length;
        await Bun.sleep(2_000);
        return op.writes.length === n ? true : undefined;
      });
      const ref = { apiVersion: "apps/v1", kind: "StatefulSet", namespace: NS, name: "vault" };
      const before = await client.get<V1StatefulSet>(ref);
      await client.delete(ref);
      await waitFor("a new StatefulSet", async () => {
        const now = await client.tryGet<V1StatefulSet>(ref);
        return now && now.metadata?.uid !== before.metadata?.uid ? true : undefined;
      });
    }, 150_000);

    test("deleting the Vault removes its StatefulSet and Services (garbage collection)", async () => {
      await client.delete(vaultRef("vault"));
      for (const [kind, apiVersion, name] of [
        ["StatefulSet", "apps/v1", "vault"],
        ["Service", "v1", "vault"],
        ["Service", "v1", "vault-internal"],
      ] as const)
        await waitFor(
          `${kind} ${name} to be gone`,
          async () => ((await client.tryGet({ apiVersion, kind, namespace: NS, name })) ? undefined : true),
          // The garbage collector may take a while to see the owner gone (~40 s measured on a busy machine).
          150_000,
        );
    }, 200_000);
  });

  describe("scone vault provision", () => {
    const target = join(root, "cas-target");
    const ctxOf = (args: Record<string, unknown>) =>
      ({
        args: { kubeconfig: cluster.kubeconfigPath, namespace: NS, target, _: [], ...args },
        rawArgs: [],
      }) as unknown as SconeContext;
    const setCasStatus = (status: Record<string, unknown>) =>
      client.applyStatus({ ...CAS_TYPE, metadata: { name: "cas", namespace: NS }, status } as KubeObject, {
        fieldManager: TEST_MANAGER,
        force: true,
      });
    const healthy = {
      state: "HEALTHY",
      phase: "HEALTHY",
      provisioned: "Yes",
      attestable: "Yes",
      migrationNodeAlert: 0,
      numMigratableNodes: 3,
      desiredNumMigratableNodes: 3,
      migrationNodeRatio: "3/3",
      podDisruptionBudgetAlert: 0,
    };

    beforeAll(async () => {
      // The CAS resource (no CAS controller in this suite: its status is set by the test).
      await client.create({ ...CAS_TYPE, metadata: { name: "cas", namespace: NS }, spec: {} } as KubeObject);
    }, 120_000);

    test("a CAS that is not provisioned is refused, naming the fix", async () => {
      await setCasStatus({ ...healthy, provisioned: "No", phase: "Unprovisioned", state: "PENDING" });
      await expect(runVaultCommand(ctxOf({ name: "myvault", cas: "cas" }))).rejects.toThrow(
        /CAS .*\/cas is not provisioned.*scone cas provision/,
      );
      await expect(runVaultCommand(ctxOf({ name: "myvault", cas: "nocas" }))).rejects.toThrow(
        /CAS .*\/nocas not found/,
      );
      // Refused before the owner's identity was looked for: nothing was written under --target.
      expect(existsSync(target)).toBe(false);
    }, 60_000);

    test("a healthy CAS without the owner's identity/config.json under --target: refused naming the file and --target", async () => {
      await setCasStatus(healthy);
      const refused = runVaultCommand(ctxOf({ name: "myvault", cas: "cas" }));
      await expect(refused).rejects.toThrow(`${join(target, "identity", "config.json")} does not exist`);
      await expect(refused).rejects.toMatchObject({ hint: expect.stringContaining("--target DIR") });
      expect(await client.tryGet(vaultRef("myvault"))).toBeUndefined();
    }, 60_000);
  });
});
