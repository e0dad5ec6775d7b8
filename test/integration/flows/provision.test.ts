// `scone cas provision` end to end with the COMPILED binary: the local cluster (KWOK nodes), CAS pods backed by the
// CAS simulator (sim/kwok-cas), and the operator's CAS controller in this process (asking the CAS through a
// local SCONE CLI over a port-forward, as an operator outside the cluster does). A run killed after creating the CAS and one killed after
// provisioning are continued by the next run, which repeats nothing that took effect — the simulator's audit log
// (its files, over every pod NAME-0 had) shows one provisioning and one creation per session. The kubectl-provision
// personality (a symlink) provisions a second CAS the same way.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { type CasPodRuntime, startCasPodRuntime } from "../../../sim/kwok-cas/runtime.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { PortForward } from "../../../src/kube/port-forward.ts";
import { registrationLabel } from "../../../src/operator/cas/nodes.ts";
import type { CAS } from "../../../src/resources/cas.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { prepareCasNodesAndVolumes, SGX_NODES } from "../../harness/day2.ts";
import { BINARY, binaryPresent, buildStandInCli, casNamespaceCleanup, simAuditEntries } from "../../harness/flows.ts";
import { waitFor } from "../../harness/kube.ts";
import {
  buildOperatorContext,
  cleanupSteps,
  installCrds,
  registerCasOverPortForwards,
  type TestOperator,
} from "../../harness/operator.ts";

const NS = `scone-prov-${Math.random().toString(36).slice(2, 8)}`;
const NAME = "cas";
const NAME2 = "cas2";
const NONCE = "00112233445566778899aabbccddeeff";
const DCAP = "0123456789abcdef0123456789abcdef";
const MANAGER = "scone-provision-test";
const TIMEOUT = 300_000;

describe.skipIf(!clusterAvailable() || !binaryPresent)("scone cas provision (compiled) on the KWOK cluster", () => {
  let cluster: LocalCluster;
  let op: TestOperator;
  let client: KubeClient;
  let runtime: CasPodRuntime;
  const forwards = new Map<string, PortForward>();
  const root = mkdtempSync(join(tmpdir(), "scone-provision-it-"));
  const target = join(root, "cas-home");
  const runtimeDir = join(root, "kwok-cas");
  /** The stand-in SCONE CLI, compiled: what `--scone-cli PATH` (upstream's --no-docker) runs, over a port-forward. */
  const sconeCli = join(root, "scone-cli-sim");

  const casRef = (name: string) => ({ apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", namespace: NS, name });
  const getCas = (name: string) => client.tryGet<CAS>(casRef(name));
  const provisionArgs = (name: string) => [
    "cas",
    "provision",
    name,
    "-n",
    NS,
    "--kubeconfig",
    cluster.kubeconfigPath,
    "--target",
    target,
    "--dcap-api",
    DCAP,
    "--nonce",
    NONCE,
    "--scone-cli",
    sconeCli,
  ];

  /** Runs the binary; with `killAfter`, SIGKILLs it as soon as the progress line of that step appears on stderr. */
  async function run(
    argv0: string,
    args: string[],
    opts: { killAfter?: string; env?: Record<string, string> } = {},
  ): Promise<{ code: number | null; stdout: string; stderr: string; killed: boolean }> {
    const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn([argv0, ...args], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, KUBECONFIG: "", NO_COLOR: "1", ...opts.env },
      timeout: TIMEOUT,
    });
    let stderr = "";
    let killed = false;
    const reading = (async () => {
      for await (const chunk of proc.stderr.pipeThrough(new TextDecoderStream())) {
        stderr += chunk;
        if (opts.killAfter && !killed && stderr.includes(`✓ ${opts.killAfter}`)) {
          killed = true;
          proc.kill("SIGKILL");
        }
      }
    })();
    const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited, reading]);
    return { code, stdout, stderr, killed };
  }

  /** What the backup controller would do on every SGX node once it runs: record a registered backup of this CAS. */
  async function registerBackupsWhenEnabled(name: string): Promise<void> {
    await waitFor(
      `${name}: backup controller enabled`,
      async () => (await getCas(name))?.spec?.["backup-controller"]?.enabled === true,
      TIMEOUT,
    );
    for (const node of SGX_NODES)
      await client.patch(
        { apiVersion: "v1", kind: "Node", name: node },
        { metadata: { labels: { [registrationLabel(NS, name, "6.0.6") ?? ""]: "true" } } },
        "merge",
        { fieldManager: MANAGER },
      );
  }

  beforeAll(async () => {
    await buildStandInCli(sconeCli);
    cluster = await sharedCluster();
    op = await buildOperatorContext({ kubeconfigPath: cluster.kubeconfigPath });
    client = op.client;
    await installCrds(client);
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    // No storage provisioner: one zone-a volume per claim, pre-bound, like a zonal disk.
    await prepareCasNodesAndVolumes(client, NS, [NAME, NAME2]);
    runtime = await startCasPodRuntime({ kubeconfig: cluster.kubeconfigPath, stateDir: runtimeDir });
    // The operator outside the cluster reaches each CAS through a local SCONE CLI over a port-forward.
    await registerCasOverPortForwards(op, cluster.kubeconfigPath, forwards);
    await op.start();
  }, TIMEOUT);

  afterAll(async () => {
    // Each step on its own: one that throws must not leave the nodes labelled or the runtime running for later files.
    await cleanupSteps([
      () => op?.stop(),
      ...[...forwards.values()].map((f) => () => f.close()),
      () => runtime?.stop(),
      ...casNamespaceCleanup(client, NS, [NAME, NAME2]),
      () => rmSync(root, { recursive: true, force: true }),
    ]);
  }, 120_000);

  test(
    "killed after creating the CAS, killed after provisioning, then run to HEALTHY: nothing repeated",
    async () => {
      const first = await run(BINARY, provisionArgs(NAME), { killAfter: "Create the unprovisioned CAS" });
      expect(first.killed).toBe(true);
      expect((await getCas(NAME))?.spec?.nonce).toBe(NONCE);

      const second = await run(BINARY, provisionArgs(NAME), { killAfter: "Provision the CAS" });
      expect(second.stderr).toMatch(/· Create the unprovisioned CAS: CAS \S+ exists \(skipped/);
      expect(second.killed).toBe(true);

      const registering = registerBackupsWhenEnabled(NAME);
      const third = await run(BINARY, [...provisionArgs(NAME), "--wait"]);
      await registering;
      expect(third.stderr).toContain(
        "· Provision the CAS (the owner identity becomes its owner): the CAS is already provisioned",
      );
      if (process.env.SCONE_TEST_SHOW) console.error(third.stderr);
      expect(third.code).toBe(0);
      expect(third.stdout).toContain("PUBLIC CAS_KEY=");
      expect(third.stdout).toContain(`NONCE=${NONCE}`);

      const table = await cluster.kubectl(["get", "cas", NAME, "-n", NS]);
      expect(table.stdout).toMatch(/HEALTHY\s+HEALTHY\s+Yes\s+Yes/);

      // The simulator's audit log: one provisioning, one creation per owner session, whatever the kills hit.
      const sessions = ["cas-owner", "cas-owner/primary-backup", "provisioned"];
      const audit = await waitFor("the provisioning and every session in the simulator's audit log", () => {
        const entries = simAuditEntries(runtimeDir, NS, `${NAME}-0`);
        const created = entries.filter((e) => e.event === "session_created").map((e) => e.details?.session);
        const complete = entries.some((e) => e.event === "provisioned") && sessions.every((s) => created.includes(s));
        return complete ? entries : undefined;
      });
      const provisioned = audit.filter((e) => e.event === "provisioned");
      const created = audit.filter((e) => e.event === "session_created").map((e) => e.details?.session);
      expect(provisioned.length).toBe(1);
      expect(created.sort()).toEqual(sessions);
      // Secrets stay out of what the command printed.
      const owner = JSON.parse(await Bun.file(join(target, "identity", "config.json")).text()) as {
        session_signing_keypair_ed25519_seed: string;
      };
      for (const out of [first, second, third]) {
        expect(`${out.stdout}${out.stderr}`).not.toContain("PRIVATE KEY");
        expect(`${out.stdout}${out.stderr}`).not.toContain(owner.session_signing_keypair_ed25519_seed);
      }
    },
    TIMEOUT * 2,
  );

  test("identity and owner files are 0600", () => {
    for (const file of [
      "identity/config.json",
      "identity/base-owner-identity.json",
      `identity/owner_id_${NAME}_${NS}.json`,
      `identity/cas-owner-session-${NAME}-${NS}.yaml`,
      "identity/backup-controller-session-cas-owner_primary-backup.yaml",
      "owner-config/config.toml",
      `owner-config/cas-${NS}-${NAME}-6.0.6-manifest.yaml`,
    ]) {
      expect(`${file} ${(statSync(join(target, file)).mode & 0o777).toString(8)}`).toBe(`${file} 600`);
    }
  });

  test(
    "--verify, --is-provisioned and -o json of a provisioned CAS",
    async () => {
      const verify = await run(BINARY, [...provisionArgs(NAME), "--verify"]);
      expect(verify.stdout).toBe(`CAS '${NAME}' in namespace '${NS}' is attestable and provisioned.\n`);
      const is = await run(BINARY, [...provisionArgs(NAME), "--is-provisioned"]);
      expect(is.code).toBe(0);
      const json = await run(BINARY, [...provisionArgs(NAME), "-o", "json"]);
      const doc = JSON.parse(json.stdout) as { ok: boolean; steps: { name: string; outcome: string }[] };
      expect(doc.ok).toBe(true);
      expect(doc.steps.find((s) => s.name === "provision")?.outcome).toBe("skipped");
    },
    TIMEOUT,
  );

  test(
    "--local-backup backs the last completed snapshot up into ./cas-database-snapshots",
    async () => {
      // The simulated CAS snapshots every few seconds on its own (the operator renders no interval for it): the
      // backup needs one completed snapshot, which the status shows once the probe has seen it.
      await waitFor(
        "a completed snapshot in the CAS status",
        async () => (await getCas(NAME))?.status?.snapshotTimestamp,
        TIMEOUT,
      );
      const cwd = join(root, "backup-cwd");
      Bun.spawnSync(["mkdir", "-p", cwd]);
      const proc = Bun.spawn([BINARY, ...provisionArgs(NAME).slice(0, 7), "--local-backup"], {
        cwd,
        stdout: "pipe",
        stderr: "pipe",
        // The backup catalog goes to the test's state directory, not the user's.
        env: { ...process.env, KUBECONFIG: "", NO_COLOR: "1", SCONE_STATE_DIR: join(root, "state") },
      });
      const [stdout, stderr, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      expect(`${code} ${stderr}`).toBe("0 ");
      // A backup set of scone cas backup below ./cas-database-snapshots: NS/NAME/ID/{cas.db,cas.key-store,backup.json}.
      const sets = join(cwd, "cas-database-snapshots", NS, NAME);
      const [id] = readdirSync(sets);
      const dir = join(sets, id ?? "");
      expect(stdout).toContain(dir);
      for (const file of ["cas.db", "cas.key-store", "backup.json"]) {
        expect(statSync(join(dir, file)).size).toBeGreaterThan(0);
        expect((statSync(join(dir, file)).mode & 0o777).toString(8)).toBe("600");
      }
    },
    TIMEOUT,
  );

  test(
    "the kubectl-provision symlink syntax provisions a second CAS the same way",
    async () => {
      const bin = join(root, "bin");
      Bun.spawnSync(["mkdir", "-p", bin]);
      symlinkSync(BINARY, join(bin, "kubectl-provision"));
      const registering = registerBackupsWhenEnabled(NAME2);
      const out = await run(
        join(bin, "kubectl-provision"),
        ["cas", NAME2, "-n", NS, "--dcap-api", DCAP, "--wait", `--target=${target}`, "--scone-cli", sconeCli],
        { env: { KUBECONFIG: cluster.kubeconfigPath } },
      );
      await registering;
      expect(out.stderr).toContain("✓ Provision the CAS");
      expect(out.code).toBe(0);
      const table = await cluster.kubectl(["get", "cas", NAME2, "-n", NS]);
      expect(table.stdout).toMatch(/HEALTHY\s+HEALTHY\s+Yes\s+Yes/);
    },
    TIMEOUT,
  );
});
