// The lines of the provider's guide, exactly as written there, run by the COMPILED binary through its
// kubectl-provision name (a symlink, as kubectl finds plugins) on the local cluster with CAS pods backed by the CAS
// simulator and the operator's CAS controller in this process. Only the namespace differs (a random one per run;
// the recovery runs in a second one, where CAS `cas` does not exist yet, as after losing a cluster). Each line's
// effect is asserted on the cluster or the disk, not only its exit code:
//   provision → CAS provisioned; --local-backup → a verified backup set under ./cas-database-snapshots;
//   --cas-database-recovery DIR → a new CAS whose database is the snapshot's, image back to cas:VER;
//   --upgrade VER → the CAS runs cas:VER after the upgrade flow; vault --verify/--local-backup/--vault-client → the
//   refusal naming what upstream does not document; a failing --verbose run → message and causes, no stack frames.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveRestoreSource } from "../../../src/backup/restore-source.ts";
import { isHealthy } from "../../../src/flows/status/health.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import { loadKubeConfig } from "../../../src/kube/config.ts";
import { execInPod } from "../../../src/kube/exec.ts";
import type { CAS } from "../../../src/resources/cas.ts";
import { clusterAvailable, type LocalCluster } from "../../harness/cluster.ts";
import { playBackupController } from "../../harness/day2.ts";
import { binaryPresent, CasFlowFixture, compiledPlugin, waitForSnapshotAfterChange } from "../../harness/flows.ts";
import { waitFor } from "../../harness/kube.ts";
import { cleanupSteps } from "../../harness/operator.ts";

const SUFFIX = Math.random().toString(36).slice(2, 8);
const NS = `scone-kprov-${SUFFIX}`;
/** Where the recovery line creates CAS `cas` anew. */
const NS2 = `scone-kprov-rec-${SUFFIX}`;
const KEY = "0123456789abcdef0123456789abcdef";
const MANAGER = "scone-kprov-test";
const TIMEOUT = 300_000;
const IMAGE = "registry.scontain.com/scone.cloud/cas";

describe.skipIf(!clusterAvailable() || !binaryPresent)("the provider's kubectl provision lines (compiled)", () => {
  const root = mkdtempSync(join(tmpdir(), "scone-kprov-it-"));
  const fixture = new CasFlowFixture(root, { [NS]: ["cas"], [NS2]: ["cas"] }, () => {});
  const { home, cwd, sconeCli, run: runPlugin, install } = compiledPlugin(root, TIMEOUT);
  let cluster: LocalCluster;
  let client: KubeClient;
  const casRef = (namespace: string) => ({
    apiVersion: "services.scone.cloud/v1beta1",
    kind: "CAS",
    namespace,
    name: "cas",
  });
  const getCas = (namespace: string) => client.tryGet<CAS>(casRef(namespace));

  /** `kubectl provision ARGS` as kubectl runs the plugin (helpers.ts), against the shared cluster by default. */
  const kubectlProvision = (args: string[], kubeconfig = cluster.kubeconfigPath) => runPlugin(args, kubeconfig);

  /** sha256 of a file in NAME-0's database directory, as the CAS container sees it. */
  async function podFileHash(namespace: string, path: string): Promise<string> {
    const conn = await loadKubeConfig({ kubeconfig: cluster.kubeconfigPath });
    const result = await execInPod(conn, {
      namespace,
      pod: "cas-0",
      container: "cas",
      command: ["sha256sum", path],
      timeoutMs: 60_000,
    });
    return new TextDecoder().decode(result.stdout).trim().split(/\s+/)[0] ?? "";
  }

  const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
  const snapshotDir = join(root, "snapshot");

  beforeAll(async () => {
    await install();
    await fixture.start();
    cluster = fixture.cluster;
    client = fixture.client;
  }, TIMEOUT);

  afterAll(async () => {
    await cleanupSteps(fixture.cleanup());
  }, 120_000);

  test(
    "kubectl provision cas cas --verbose --namespace NS --dcap-api $KEY: a provisioned CAS",
    async () => {
      const line = ["cas", "cas", "--verbose", "--namespace", NS, "--dcap-api", KEY];
      const out = await kubectlProvision([...line, "--scone-cli", sconeCli]);
      expect(`${out.code} ${out.stderr}`).toStartWith("0 ");
      expect(out.stdout).toContain("PUBLIC CAS_KEY=");
      const cas = await waitFor("CAS HEALTHY", async () => {
        const c = await getCas(NS);
        return isHealthy(c) ? c : undefined;
      });
      expect(cas.status?.provisioned).toBe("Yes");
    },
    TIMEOUT,
  );

  test(
    "kubectl provision cas cas --local-backup -n NS: a verified backup set in ./cas-database-snapshots",
    async () => {
      // Snapshots every 2 s instead of upstream's 24 h, so there is one to copy.
      const before = (await getCas(NS))?.status?.snapshotTimestamp;
      await client.patch(casRef(NS), { spec: { databaseSnapshots: { interval: "2s" } } }, "merge", {
        fieldManager: MANAGER,
      });
      await waitForSnapshotAfterChange(client, casRef(NS), before, TIMEOUT);
      const out = await kubectlProvision(["cas", "cas", "--local-backup", "-n", NS]);
      expect(`${out.code} ${out.stderr}`).toBe("0 ");
      const setsDir = join(cwd, "cas-database-snapshots", NS, "cas");
      const ids = readdirSync(setsDir);
      expect(ids).toHaveLength(1);
      const set = join(setsDir, ids[0] as string);
      expect(readdirSync(set).sort()).toEqual(["backup.json", "cas.db", "cas.key-store"]);
      expect(out.stdout).toContain(set);
      // The set verifies (every byte against its manifest), as a restore would check it.
      const source = await resolveRestoreSource(set);
      expect(source.manifest.cas).toMatchObject({ namespace: NS, name: "cas" });
      await source.cleanup();
      // A raw snapshot directory, as upstream's --local-backup leaves one: only cas.db and cas.key-store.
      mkdirSync(snapshotDir);
      for (const f of ["cas.db", "cas.key-store"]) writeFileSync(join(snapshotDir, f), readFileSync(join(set, f)));
    },
    TIMEOUT,
  );

  test(
    "kubectl provision cas cas --cas-database-recovery DIR --verbose --namespace NS2 --dcap-api $KEY: a new CAS on the snapshot",
    async () => {
      const out = await kubectlProvision([
        "cas",
        "cas",
        "--cas-database-recovery",
        snapshotDir,
        "--verbose",
        "--namespace",
        NS2,
        "--dcap-api",
        KEY,
      ]);
      expect(`${out.code} ${out.stderr}`).toStartWith("0 ");
      expect(out.stderr).toContain("✓ Restart CAS on the snapshot");
      // The guide's --dcap-api is accepted, saying why it changes nothing here (and never showing the key).
      expect(out.stderr).toContain("note: --dcap-api is not used by --cas-database-recovery");
      expect(out.stderr).not.toContain(KEY);
      const cas = await getCas(NS2);
      expect(cas?.spec?.image).toBe(`${IMAGE}:6.0.6`);
      expect(cas?.status?.provisioned).toBe("Yes");
      // Its database is the snapshot's: the key store the CAS runs on is the file given.
      expect(await podFileHash(NS2, "/etc/cas/db/cas.key-store")).toBe(sha256(join(snapshotDir, "cas.key-store")));
      // The same line again finds the CAS it created from this snapshot and has nothing left to do.
      const again = await kubectlProvision(["cas", "cas", "--cas-database-recovery", snapshotDir, "-n", NS2]);
      expect(`${again.code} ${again.stderr}`).toStartWith("0 ");
      expect(again.stderr).toContain("restored from snapshot-");
    },
    TIMEOUT,
  );

  test("--cas-database-recovery of a directory with a planted link: refused, no CAS created", async () => {
    const planted = join(root, "planted");
    mkdirSync(planted);
    writeFileSync(join(planted, "cas.db"), "db");
    symlinkSync(join(home, ".cas", "identity", "config.json"), join(planted, "cas.key-store"));
    const out = await kubectlProvision(["cas", "other", "--cas-database-recovery", planted, "-n", NS2]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`${join(planted, "cas.key-store")} is a symbolic link`);
    expect(await client.tryGet({ ...casRef(NS2), name: "other" })).toBeUndefined();
  });

  test(
    "kubectl provision cas cas -n NS --upgrade 6.0.7: the upgrade flow, the CAS on cas:6.0.7",
    async () => {
      const stop = playBackupController(client, NS, "cas");
      const out = await kubectlProvision(["cas", "cas", "-n", NS, "--upgrade", "6.0.7"]).finally(stop);
      expect(`${out.code} ${out.stderr}`).toStartWith("0 ");
      expect(out.stderr).toContain("✓ Switch the backup controller session");
      const cas = await getCas(NS);
      expect(cas?.spec?.image).toBe(`${IMAGE}:6.0.7`);
      expect(cas?.status).toMatchObject({ phase: "HEALTHY", version: "6.0.7" });
    },
    TIMEOUT,
  );

  test("kubectl provision vault cas … --verify / --local-backup / --vault-client: refused, naming what is unknown", async () => {
    const base = ["vault", "cas", "--verbose", "--namespace", NS];
    const verify = await kubectlProvision([...base, "--verify"]);
    expect(verify.code).toBe(2);
    expect(verify.stderr).toContain("--verify");
    expect(verify.stderr).toContain("vault-verifier");
    const backup = await kubectlProvision([...base, "--local-backup"]);
    expect(backup.code).toBe(2);
    expect(backup.stderr).toContain("/mnt/vault/data");
    const vaultClient = await kubectlProvision([...base, "--vault-client"]);
    expect(vaultClient.code).toBe(2);
    expect(vaultClient.stderr).toContain("client policy");
    // Refused before anything happened: no Vault resource.
    const vault = { apiVersion: "services.scone.cloud/v1beta1", kind: "Vault", namespace: NS, name: "cas" };
    expect(await client.tryGet(vault)).toBeUndefined();
  });

  test("a failing --verbose line prints the message and its causes, no stack frames of the binary", async () => {
    // An API server that does not answer (nothing listens on loopback port 1): the error comes from deep inside.
    const unreachable = join(root, "unreachable.kubeconfig");
    writeFileSync(
      unreachable,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:1" } }],
        users: [{ name: "u", user: { token: "t" } }],
        contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
        "current-context": "x",
      }),
    );
    const out = await kubectlProvision(["cas", "cas", "--local-backup", "--verbose", "-n", NS], unreachable);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("kubectl provision: GET ");
    expect(out.stderr).toContain("caused by: ");
    expect(out.stderr).toContain("ECONNREFUSED");
    expect(out.stderr).not.toContain("$bunfs");
    expect(out.stderr).not.toMatch(/^\s+at /m);
    // The guide's provisioning line: the failed step's error and what caused it.
    const line = await kubectlProvision(["cas", "cas", "--verbose", "--namespace", NS, "--dcap-api", KEY], unreachable);
    expect(line.code).toBe(1);
    expect(line.stderr).toContain("caused by: KubeConnectionError: GET ");
    expect(line.stderr).toContain("caused by: TypeError: ECONNREFUSED");
    expect(line.stderr).not.toContain("$bunfs");
    expect(line.stderr).not.toContain(KEY);
  });
});
