// Vault on the real local cluster and the CAS simulator:
// - the controller: upstream's sample (operator-samples/5.8.0-rc.1_vault.yaml, $VARS filled) gets its StatefulSet
//   and Services, the pod runs on a simulated SGX node, the Vault reports HEALTHY with 1/1 ready, a steady state
//   writes nothing, and a deleted StatefulSet comes back;
// - `scone vault provision`: refuses a CAS that is not provisioned/HEALTHY, uploads the vault sessions to the
//   simulator with the CLI config's identity under a random OWNER_ID, creates the Vault resource, resumes on a rerun
//   without uploading twice, and --print-public-keys prints the vault CA.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Pod, V1Service, V1StatefulSet } from "@kubernetes/client-node";
import { launchSimulator, type RunningSimulator } from "../../../sim/cas/launch.ts";
import { attestCas, CasClient } from "../../../src/cas/client.ts";
import { type CliConfig, generateCliConfig, identityPem, withCas, writeCliConfig } from "../../../src/cas/identity.ts";
import { run as runVaultCommand } from "../../../src/cli/run/vault.ts";
import type { SconeContext } from "../../../src/cli/spec.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { registerVaultController, VAULT_TYPE } from "../../../src/operator/vault/controller.ts";
import type { ProvisionState } from "../../../src/operator/vault/provision.ts";
import { vaultSessionNames } from "../../../src/operator/vault/sessions.ts";
import type { Vault } from "../../../src/resources/vault.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { sampleVault, VAULT_VARS } from "../../unit/operator/vault/sample.ts";
import { waitFor } from "../kube/helpers.ts";
import { buildOperatorContext, cleanupSteps, installCrds, type TestOperator } from "./context.ts";

const NS = `scone-vault-${Math.random().toString(36).slice(2, 8)}`;
const TEST_MANAGER = "scone-vault-test";
const CAS_TYPE = { apiVersion: "services.scone.cloud/v1beta1", kind: "CAS" };

describe.skipIf(!clusterAvailable())("Vault", () => {
  let cluster: LocalCluster;
  let op: TestOperator;
  let client: KubeClient;
  const root = mkdtempSync(join(tmpdir(), "scone-vault-"));
  let sim: RunningSimulator | undefined;

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
      () => sim?.stop(),
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
    let owner: CliConfig;
    let ownerClient: CasClient;
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
      sim = await launchSimulator({ dataDir: join(root, "db") });
      owner = await generateCliConfig("vault-owner");
      const attested = await attestCas(sim.url, { casKeyHash: sim.casKeyHash });
      ownerClient = new CasClient({ url: sim.url, caCertPem: attested.caCertPem, identity: identityPem(owner) });
      await ownerClient.provision({ token: sim.provisioningToken ?? "", casKeyHash: sim.casKeyHash, ownerConfig: "" });
      const config = withCas(owner, sim.url, {
        url: sim.url,
        chain: attested.caCertPem,
        cas_key_hash: sim.casKeyHash,
        software_key_hash: sim.softwareKeyHash,
        session_encryption_key: sim.sessionEncryptionKey,
        version: "6.0.6",
        attested_at: new Date().toISOString(),
      });
      const { mkdir } = await import("node:fs/promises");
      await mkdir(target, { recursive: true });
      await writeCliConfig(join(target, "config.json"), config);
      // The CAS resource (no CAS controller in this suite: its status is set by the test).
      await client.create({ ...CAS_TYPE, metadata: { name: "cas", namespace: NS }, spec: {} } as KubeObject);
    }, 120_000);

    test("a CAS that is not provisioned is refused, naming the fix", async () => {
      await setCasStatus({ ...healthy, provisioned: "No", phase: "Unprovisioned", state: "PENDING" });
      await expect(runVaultCommand(ctxOf({ name: "myvault", cas: "cas", "cas-address": sim?.url }))).rejects.toThrow(
        /CAS .*\/cas is not provisioned.*scone cas provision/,
      );
      await expect(runVaultCommand(ctxOf({ name: "myvault", cas: "nocas", "cas-address": sim?.url }))).rejects.toThrow(
        /CAS .*\/nocas not found/,
      );
    }, 60_000);

    test("uploads the vault sessions under a random OWNER_ID and creates the Vault; a rerun resumes", async () => {
      await setCasStatus(healthy);
      await runVaultCommand(ctxOf({ name: "myvault", cas: "cas", "cas-address": sim?.url }));
      const statePath = join(target, `vault-myvault.${NS}.json`);
      expect(statSync(statePath).mode & 0o777).toBe(0o600);
      const state = (await Bun.file(statePath).json()) as ProvisionState;
      expect(state.ownerId).toMatch(/^\d{2,10}$/);
      const names = vaultSessionNames(state.ownerId);
      expect(Object.keys(state.sessions).sort()).toEqual(Object.values(names).sort());
      for (const name of Object.values(names)) {
        const read = await ownerClient.readSession(name);
        expect(read.hash).toBe(state.sessions[name] as string);
      }
      const ca = await ownerClient.values(names.initAuto);
      expect(ca.VAULT_CA?.value).toContain("BEGIN CERTIFICATE");

      const vault = await getVault("myvault");
      const env = vault.spec?.server?.extraEnvironmentVars ?? {};
      expect(env.OWNER_ID).toBe(state.ownerId);
      expect(env.SCONE_CAS_ADDR).toBe(`cas.${NS}`);
      expect(env.SCONE_CONFIG_ID).toBe("vault-$(OWNER_ID)/dev");
      expect(vault.spec?.server?.dataStorage).toEqual({ enabled: true });

      // Rerun: same OWNER_ID, nothing uploaded again (the sessions' hashes are unchanged).
      const printed: string[] = [];
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = ((chunk: string) => {
        printed.push(String(chunk));
        return true;
      }) as typeof process.stdout.write;
      try {
        await runVaultCommand(ctxOf({ name: "myvault", cas: "cas", "cas-address": sim?.url, output: "json" }));
        await runVaultCommand(
          ctxOf({ name: "myvault", cas: "cas", "cas-address": sim?.url, "print-public-keys": true }),
        );
      } finally {
        process.stdout.write = write;
      }
      const rerun = JSON.parse(printed[0] ?? "{}") as {
        ownerId: string;
        resumed: boolean;
        sessions: { created: boolean }[];
      };
      expect(rerun.ownerId).toBe(state.ownerId);
      expect(rerun.resumed).toBe(true);
      expect(rerun.sessions.every((s) => !s.created)).toBe(true);
      expect(printed[1]).toBe(`${ca.VAULT_CA?.value}\n`);
    }, 120_000);
  });
});
