// `kubectl provision vault cas --verbose --namespace NS` (the provider's guide line) through the COMPILED binary's
// kubectl-provision name on the local cluster, after a scone provisioning of CAS `cas` — both with the compiled
// stand-in SCONE CLI (`--scone-cli`, upstream's --no-docker), the CAS pods backed by the CAS simulator. The vault
// reaches CAS only through the CAS driver, as the owner `~/.cas/identity/config.json` that provisioning left: the
// sessions are then read back through the driver (openOwnerClient → `session read`), a re-run changes nothing, and
// --print-public-keys reads VAULT_CA over the documented public values read, pinned to the CLI's attested chain.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalCasDriverSource } from "../../../src/cas/driver/local-source.ts";
import { openOwnerClient } from "../../../src/flows/provision/flow.ts";
import { isHealthy } from "../../../src/flows/status/health.ts";
import { vaultSessionNames } from "../../../src/flows/vault/sessions.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import { type ClusterConnection, loadKubeConfig } from "../../../src/kube/config.ts";
import { type PortForward, startPortForward } from "../../../src/kube/port-forward.ts";
import type { CAS } from "../../../src/resources/cas.ts";
import type { Vault } from "../../../src/resources/vault.ts";
import { clusterAvailable, type LocalCluster } from "../../harness/cluster.ts";
import { binaryPresent, CasFlowFixture, compiledPlugin } from "../../harness/flows.ts";
import { waitFor } from "../../harness/kube.ts";
import { cleanupSteps } from "../../harness/operator.ts";

const NS = `scone-vault-${Math.random().toString(36).slice(2, 8)}`;
const KEY = "0123456789abcdef0123456789abcdef";
const TIMEOUT = 300_000;

describe.skipIf(!clusterAvailable() || !binaryPresent)(
  "kubectl provision vault through the CAS driver (compiled)",
  () => {
    let cluster: LocalCluster;
    let client: KubeClient;
    let conn: ClusterConnection;
    const testForwards: PortForward[] = [];
    const root = mkdtempSync(join(tmpdir(), "scone-vault-it-"));
    const fixture = new CasFlowFixture(root, { [NS]: ["cas"] }, () => {});
    const { home, sconeCli, run: runPlugin, install } = compiledPlugin(root, TIMEOUT);
    const target = join(home, ".cas");
    const statePath = join(target, `vault-cas.${NS}.json`);

    const kubectlProvision = (args: string[]) => runPlugin(args, cluster.kubeconfigPath);

    /** The vault sessions as CAS holds them, read through the CAS driver as the owner (body and the CLI's hash). */
    async function readVaultSessions(ownerId: string): Promise<Record<string, { session: string; hash: string }>> {
      const casSource = new LocalCasDriverSource({
        binary: [sconeCli],
        stateDir: join(root, "reader-state"),
        portForward: async (options) => {
          const forward = await startPortForward(conn, options);
          testForwards.push(forward);
          return forward;
        },
      });
      const owner = await openOwnerClient(client, { name: "cas", namespace: NS, target }, { casSource });
      try {
        const out: Record<string, { session: string; hash: string }> = {};
        for (const name of Object.values(vaultSessionNames(ownerId))) out[name] = await owner.client.readSession(name);
        return out;
      } finally {
        await owner.close();
      }
    }

    const vaultState = () => JSON.parse(readFileSync(statePath, "utf8")) as { ownerId: string; sessions: object };
    const line = () => ["vault", "cas", "--verbose", "--namespace", NS, "--scone-cli", sconeCli];

    beforeAll(async () => {
      await install();
      // The backup controller's registrations (fixture): the CAS turns HEALTHY and fully migratable.
      await fixture.start();
      cluster = fixture.cluster;
      client = fixture.client;
      conn = await loadKubeConfig({ kubeconfig: cluster.kubeconfigPath });
      const provisioned = await kubectlProvision([
        "cas",
        "cas",
        "--verbose",
        "--namespace",
        NS,
        "--dcap-api",
        KEY,
        "--scone-cli",
        sconeCli,
      ]);
      expect(`${provisioned.code} ${provisioned.stderr}`).toStartWith("0 ");
      await waitFor(
        "CAS HEALTHY and fully migratable",
        async () => {
          const c = await client.tryGet<CAS>({
            apiVersion: "services.scone.cloud/v1beta1",
            kind: "CAS",
            namespace: NS,
            name: "cas",
          });
          return isHealthy(c) && c?.status?.provisioned === "Yes" && (c.status.migrationNodeAlert ?? 0) === 0
            ? c
            : undefined;
        },
        TIMEOUT,
      );
    }, TIMEOUT);

    afterAll(async () => {
      await cleanupSteps(fixture.cleanup(testForwards.map((f) => () => f.close())));
    }, 120_000);

    test(
      "kubectl provision vault cas --verbose --namespace NS: the vault sessions are in CAS, the Vault is applied",
      async () => {
        const out = await kubectlProvision(line());
        expect(`${out.code} ${out.stderr}`).toStartWith("0 ");
        expect(out.stdout).toContain("5 sessions (5 created, 0 updated), Vault applied");
        const { ownerId, sessions } = vaultState();
        const inCas = await readVaultSessions(ownerId);
        // Each session CAS holds is the version the run recorded (the CLI's hash, not one scone computed).
        expect(Object.fromEntries(Object.entries(inCas).map(([n, s]) => [n, s.hash]))).toEqual(
          sessions as Record<string, string>,
        );
        expect(inCas[vaultSessionNames(ownerId).vault]?.session).toContain(`name: vault-${ownerId}`);
        const vault = await client.tryGet<Vault>({
          apiVersion: "services.scone.cloud/v1beta1",
          kind: "Vault",
          namespace: NS,
          name: "cas",
        });
        expect(vault?.spec?.server?.extraEnvironmentVars?.OWNER_ID).toBe(ownerId);
      },
      TIMEOUT,
    );

    test(
      "the same line again changes nothing: no session created or updated, the same versions in CAS",
      async () => {
        const before = vaultState();
        const out = await kubectlProvision(line());
        expect(`${out.code} ${out.stderr}`).toStartWith("0 ");
        expect(out.stdout).toContain("5 sessions (0 created, 0 updated)");
        expect(vaultState()).toEqual(before);
        const inCas = await readVaultSessions(before.ownerId);
        expect(Object.fromEntries(Object.entries(inCas).map(([n, s]) => [n, s.hash]))).toEqual(
          before.sessions as Record<string, string>,
        );
      },
      TIMEOUT,
    );

    test(
      "--print-public-keys prints VAULT_CA, read from CAS with TLS pinned to the CLI's attested chain",
      async () => {
        const out = await kubectlProvision([...line(), "--print-public-keys"]);
        expect(`${out.code} ${out.stderr}`).toStartWith("0 ");
        expect(out.stdout).toContain("-----BEGIN CERTIFICATE-----");
      },
      TIMEOUT,
    );

    test("--cas-address is refused (exit 2), naming why; nothing reaches CAS", async () => {
      const out = await kubectlProvision([...line(), "--cas-address", "https://127.0.0.1:8081"]);
      expect(out.code).toBe(2);
      expect(out.stderr).toContain("--cas-address is refused");
    });
  },
);
