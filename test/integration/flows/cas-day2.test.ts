// The day-2 flows on the local cluster (kube-apiserver, scheduler, controller-manager, KWOK nodes) with CAS pods backed
// by the CAS simulator (sim/kwok-cas), the operator's CAS controller in this process (reaching each CAS through a
// port-forward, as an operator outside the cluster does) and the real S3 server: a CAS provisioned by the provisioning
// flow is then looked at (status), audited, backed up to a directory and to S3, restored into a new CAS (keeping its
// identity), upgraded, and moved to another node. The test plays the backup controller: it records a registered
// backup on every SGX node once the backup controller is enabled.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Node } from "@kubernetes/client-node";
import { type CasPodRuntime, startCasPodRuntime } from "../../../sim/kwok-cas/runtime.ts";
import { LocalDirectoryTarget } from "../../../src/backup/local-target.ts";
import { resolveRestoreSource } from "../../../src/backup/restore-source.ts";
import { S3Credentials } from "../../../src/backup/s3-credentials.ts";
import { S3Target } from "../../../src/backup/s3-target.ts";
import { LocalCasDriverSource } from "../../../src/cas/driver/local-source.ts";
import { readAuditLog, searchAuditIndex } from "../../../src/flows/audit/flow.ts";
import { verifyAuditText } from "../../../src/flows/audit/verify.ts";
import { runCasBackup } from "../../../src/flows/backup/flow.ts";
import { runEvict } from "../../../src/flows/evict/flow.ts";
import { runProvision } from "../../../src/flows/provision/flow.ts";
import { provisionOptionsFromFlags } from "../../../src/flows/provision/options.ts";
import { realProvisionPorts } from "../../../src/flows/provision/ports.ts";
import { runRestore } from "../../../src/flows/restore/flow.ts";
import { isHealthy } from "../../../src/flows/status/health.ts";
import { observeCas, type PodExec } from "../../../src/flows/status/observe.ts";
import { buildStatusReport } from "../../../src/flows/status/report.ts";
import { runUpgrade } from "../../../src/flows/upgrade/flow.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import { loadKubeConfig } from "../../../src/kube/config.ts";
import { execInPod } from "../../../src/kube/exec.ts";
import type { PortForward } from "../../../src/kube/port-forward.ts";
import { startPortForward } from "../../../src/kube/port-forward.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import type { CAS } from "../../../src/resources/cas.ts";
import { openStore, type Store } from "../../../src/store/open.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import {
  playBackupController,
  prepareCasNodesAndVolumes,
  RESTORED_AS_EXPECTED,
  registerBackups,
  restoredFacts,
  startBackupControllerPlayer,
} from "../../harness/day2.ts";
import { casNamespaceCleanup, waitForSnapshotAfterChange } from "../../harness/flows.ts";
import { waitFor } from "../../harness/kube.ts";
import {
  buildOperatorContext,
  cleanupSteps,
  installCrds,
  registerCasOverPortForwards,
  type TestOperator,
} from "../../harness/operator.ts";
import { sharedS3 } from "../../harness/s3.ts";
import { STAND_IN_CLI } from "../../harness/stand-in-world.ts";

const NS = `scone-day2-${Math.random().toString(36).slice(2, 8)}`;
const NAME = "cas";
const RESTORED = "restored";
const MANAGER = "scone-day2-test";
const BUCKET = "scone-day2-it";
const TIMEOUT = 300_000;
/** The stand-in SCONE CLI compiled (`make sim-cli`), as a user passes it with --scone-cli. */
const SIM_CLI_BINARY = join(import.meta.dir, "../../../.build/scone-cli-sim");
const WAIT = { timeoutMs: 180_000, pollMs: 500 };

describe.skipIf(!clusterAvailable())("CAS day-2 flows on the simulator-backed KWOK cluster", () => {
  let cluster: LocalCluster;
  let op: TestOperator;
  let client: KubeClient;
  let runtime: CasPodRuntime;
  let store: Store;
  let exec: PodExec;
  let conn: Awaited<ReturnType<typeof loadKubeConfig>>;
  let credentials: S3Credentials;
  const forwards = new Map<string, PortForward>();
  const root = mkdtempSync(join(tmpdir(), "scone-day2-it-"));
  const backups: { dir?: string; s3?: string } = {};

  const casRef = (name: string) => ({ apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", namespace: NS, name });
  const getCas = (name: string) => client.tryGet<CAS>(casRef(name));
  beforeAll(async () => {
    cluster = await sharedCluster();
    op = await buildOperatorContext({ kubeconfigPath: cluster.kubeconfigPath });
    client = op.client;
    await installCrds(client);
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await prepareCasNodesAndVolumes(client, NS, [NAME, RESTORED]);
    // Registered backups of CAS NAME on every SGX node: what its backup controller would record. The restored CAS
    // gets its own once the restore turned its backup controller on (the restore test plays that controller).
    await registerBackups(client, NS, NAME);
    runtime = await startCasPodRuntime({
      kubeconfig: cluster.kubeconfigPath,
      stateDir: join(root, "kwok-cas"),
      log: () => {},
    });
    conn = await loadKubeConfig({ kubeconfig: cluster.kubeconfigPath });
    exec = (o) => execInPod(conn, o);
    await registerCasOverPortForwards(op, cluster.kubeconfigPath, forwards);
    await op.start();
    store = openStore({ stateDir: join(root, "state") });
    const s3 = await sharedS3();
    await s3.bucket(BUCKET);
    credentials = new S3Credentials(
      { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: s3.region, endpoint: s3.endpoint },
      "test",
    );

    const options = provisionOptionsFromFlags({
      name: NAME,
      namespace: NS,
      target: join(root, "cas-home"),
      wait: true,
    });
    // The CAS driver: the stand-in SCONE CLI run locally (`--scone-cli`), over a port-forward to NAME-0.
    const casSource = new LocalCasDriverSource({
      binary: STAND_IN_CLI,
      stateDir: join(root, "state"),
      portForward: (o) => startPortForward(conn, o),
    });
    const provisioned = await runProvision(options, realProvisionPorts(client, options, { casSource }));
    if (!provisioned.ok) throw new Error(`provisioning failed: ${provisioned.error}`);
    // Snapshots every 2 s instead of upstream's 24 h, so there is one to back up. The change replaces the pod: the
    // tests start once the new pod is HEALTHY and has taken a snapshot (a slow provisioning may have left one from
    // before the change, which the status keeps).
    const before = (await getCas(NAME))?.status?.snapshotTimestamp;
    await client.patch(casRef(NAME), { spec: { databaseSnapshots: { interval: "2s" } } }, "merge", {
      fieldManager: MANAGER,
    });
    await waitForSnapshotAfterChange(client, casRef(NAME), before, TIMEOUT);
  }, TIMEOUT * 2);

  afterAll(async () => {
    // Each step on its own: one that throws must not leave the nodes labelled or the runtime running for later files.
    await cleanupSteps([
      () => op?.stop(),
      ...[...forwards.values()].map((f) => () => f.close()),
      () => runtime?.stop(),
      () => store?.close(),
      ...casNamespaceCleanup(client, NS, [NAME, RESTORED, "never"]),
      () => rmSync(root, { recursive: true, force: true }),
    ]);
  }, 120_000);

  test("status: HEALTHY, provisioned, its node and the zone-a node it could move to", async () => {
    const report = buildStatusReport(
      { namespace: NS, name: NAME },
      await observeCas(client, { namespace: NS, name: NAME }),
      [],
      [],
    );
    expect(report).toMatchObject({ phase: "HEALTHY", provisioned: "Yes", attestable: "Yes", version: "6.0.6" });
    expect(report.pod.zone).toBe("zone-a");
    expect(report.moveTargets.eligible).toHaveLength(1);
    expect(report.moveTargets.rejected.find((r) => r.node === "sgx-node-3")?.reasons.join()).toContain(
      "in zone zone-b",
    );
  });

  test(
    "audit: the log through the API server is read, indexed once (links confirmed in the index), and is searchable",
    async () => {
      // The log grows while the test reads it: the operator's probe reads the session `provisioned` every second,
      // an entry each. Past the three start-up entries once the container's log (a 200 ms tail of the file) has one.
      await waitFor("an entry after the start-up entries in the audit container's log", async () => {
        const log = await client.podLogs({ namespace: NS, name: `${NAME}-0` }, { container: "audit" });
        return log.split("\n").filter((line) => line.trim() !== "").length > 3;
      });
      const first = await readAuditLog(client, { namespace: NS, name: NAME, follow: false, store });
      expect(first.entries).toBeGreaterThan(3);
      expect(first.breaks).toEqual([]);
      expect(first.inserted).toBe(first.entries);
      // Indexed once: every entry of the first read is skipped; only those the CAS logged since then are new.
      const again = await readAuditLog(client, { namespace: NS, name: NAME, follow: false, store });
      expect(again.skipped).toBe(first.entries);
      expect(again.inserted).toBe(again.entries - first.entries);
      // -f: the same log streamed (kubectl logs -f), stopped by the caller; nothing new to index.
      const stop = new AbortController();
      let lines = 0;
      const followed = await readAuditLog(client, {
        namespace: NS,
        name: NAME,
        follow: true,
        store,
        signal: stop.signal,
        onLine: () => {
          if (++lines >= first.entries) stop.abort();
        },
      });
      expect(followed.entries).toBeGreaterThanOrEqual(first.entries);
      expect(followed.breaks).toEqual([]);
      // The audit volume is an emptyDir (as upstream's): this pod's log began when it started.
      const started = searchAuditIndex(store.db, { namespace: NS, name: NAME, event: "cas_started", limit: 10 });
      expect(started.entries.length).toBeGreaterThan(0);
      expect(started.entries.every((e) => e.chainOk)).toBe(true);
      const words = searchAuditIndex(store.db, { namespace: NS, name: NAME, words: "audit_log_enabled", limit: 10 });
      expect(words.entries.map((e) => e.seq)).toEqual([0]);
    },
    TIMEOUT,
  );

  test(
    "audit verification: the compiled stand-in SCONE CLI verifies the log (exit 0); a tampered line is exit 20",
    async () => {
      // The verdict is the CLI's (`cas verify-audit-log --cas <addr> <log>`, SCONE-CLI §4/§5), run locally as
      // `--scone-cli .build/scone-cli-sim` would run it, reaching NAME-0 over a port-forward.
      const source = new LocalCasDriverSource({
        binary: [SIM_CLI_BINARY],
        stateDir: join(root, "verify-state"),
        portForward: (o) => startPortForward(conn, o),
      });
      const cas = { namespace: NS, name: NAME };
      const log = await client.podLogs({ namespace: NS, name: `${NAME}-0` }, { container: "audit" });
      const lines = log.split("\n").filter((line) => line.trim() !== "");
      expect(lines.length).toBeGreaterThan(3);
      const fine = await verifyAuditText(source, cas, `${lines.join("\n")}\n`);
      expect(fine, fine.details).toMatchObject({ exitCode: 0, meaning: "fully correct", correct: true });
      // One entry's event rewritten: its signature no longer covers it.
      const at = 2;
      const tampered = lines.map((line, i) =>
        i === at ? line.replace(/"event":"[^"]*"/, '"event":"session_deleted"') : line,
      );
      expect(tampered[at]).not.toBe(lines[at]);
      const bad = await verifyAuditText(source, cas, `${tampered.join("\n")}\n`);
      expect(bad).toMatchObject({ exitCode: 20, meaning: "authenticity or integrity violation", correct: false });
      expect(bad.details).toContain("[20]");
    },
    TIMEOUT,
  );

  test(
    "scone cas audit --scone-cli: the CLI's verdict (exit 0, fully correct) is what the command reports",
    async () => {
      const proc = Bun.spawn(
        [
          process.execPath,
          join(import.meta.dir, "../../../src/main.ts"),
          ...["cas", "audit", NAME, "-n", NS, "--kubeconfig", cluster.kubeconfigPath],
          ...["--state-dir", join(root, "cli-state"), "--scone-cli", SIM_CLI_BINARY, "-o", "json"],
        ],
        { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, KUBECONFIG: "", NO_COLOR: "1" } },
      );
      const [stdout, stderr, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      expect(code, stderr).toBe(0);
      const result = JSON.parse(stdout) as Record<string, unknown>;
      expect(result.entries).toBeGreaterThan(3);
      expect(result.verification).toMatchObject({ exitCode: 0, meaning: "fully correct", correct: true });
      expect(String((result.verification as { by: string }).by)).toContain("scone-cli-sim");
      // scone's own link check is no verdict and is not reported as one.
      expect(result.breaks).toBeUndefined();
    },
    TIMEOUT,
  );

  test(
    "backup to a directory and to S3: verified, catalogued",
    async () => {
      const toDir = await runCasBackup(
        { kube: client, exec },
        { namespace: NS, name: NAME, target: new LocalDirectoryTarget(join(root, "backups")), store },
      );
      expect(toDir).toMatchObject({ ok: true, problems: [], record: { phase: "completed" } });
      backups.dir = toDir.record?.target;
      const toS3 = await runCasBackup(
        { kube: client, exec },
        { namespace: NS, name: NAME, target: new S3Target(BUCKET, "day2", credentials), store },
      );
      expect(toS3).toMatchObject({ ok: true, record: { phase: "completed" } });
      backups.s3 = toS3.record?.target;
      expect(backups.s3).toStartWith(`s3://${BUCKET}/day2/${NS}/${NAME}/bk-`);
    },
    TIMEOUT,
  );

  test(
    "a corrupted backup is refused before anything is created",
    async () => {
      const copy = join(root, "corrupt");
      await mkdir(copy);
      for (const f of ["cas.db", "cas.key-store", "backup.json"])
        await Bun.write(join(copy, f), Bun.file(join(backups.dir ?? "", f)));
      await writeFile(join(copy, "cas.key-store"), "not the key store");
      const outcome = await runRestore(
        { kube: client, exec, resolveSource: (spec) => resolveRestoreSource(spec, { store }) },
        { namespace: NS, name: "never", from: copy, defaultVersion: "6.0.6" },
      );
      expect(outcome).toMatchObject({ ok: false, refused: true });
      expect(outcome.error).toContain("cas.key-store");
      expect(await getCas("never")).toBeUndefined();
    },
    TIMEOUT,
  );

  test(
    "restore from S3 into a new CAS: same CAS identity, provisioned, image back to cas",
    async () => {
      const player = startBackupControllerPlayer(client, NS, RESTORED);
      const outcome = await runRestore(
        { kube: client, exec, resolveSource: (spec) => resolveRestoreSource(spec, { store, credentials }) },
        { namespace: NS, name: RESTORED, from: backups.s3 ?? "", defaultVersion: "6.0.6", ...WAIT },
      ).finally(() => player.stop());
      if (!outcome.ok) console.error(JSON.stringify(outcome.steps, null, 1));
      expect(outcome.error).toBeUndefined();
      expect(outcome.ok).toBe(true);
      expect(await restoredFacts(client, NS, RESTORED, NAME)).toEqual(RESTORED_AS_EXPECTED);
    },
    TIMEOUT,
  );

  test(
    "upgrade 6.0.6 → 6.0.7: backup controller first, then CAS; HEALTHY on the new version",
    async () => {
      const stop = playBackupController(client, NS, NAME);
      const outcome = await runUpgrade(client, {
        namespace: NS,
        name: NAME,
        to: "6.0.7",
        force: false,
        ...WAIT,
      }).finally(stop);
      expect(outcome.error).toBeUndefined();
      expect(outcome.steps.map((s) => `${s.name}:${s.outcome}`)).toEqual([
        "preconditions:done",
        "backup-controller-session:done",
        "backup-policy:skipped", // no backupMrenclave: the backup policy session stays as it is
        "backup-controller-image:done",
        "wait-migration:done",
        "cas-image:done",
        "wait-healthy:done",
      ]);
      const cas = await getCas(NAME);
      expect(cas?.status).toMatchObject({ phase: "HEALTHY", version: "6.0.7" });
      expect(cas?.spec?.["backup-controller"]?.session).toBe("cas-owner/primary-backup/upgrade");
      const again = await runUpgrade(client, { namespace: NS, name: NAME, to: "6.0.7", force: false });
      expect(again).toMatchObject({ ok: false, refused: true });
    },
    TIMEOUT,
  );

  test(
    "evict: CAS moves to the other zone-a node, HEALTHY there, the old node schedulable again",
    async () => {
      const before = (await observeCas(client, { namespace: NS, name: NAME })).pod?.spec?.nodeName;
      const outcome = await runEvict(client, { namespace: NS, name: NAME, ...WAIT });
      expect(outcome.error).toBeUndefined();
      expect(outcome.from).toBe(before ?? "");
      expect(outcome.to).not.toBe(before);
      expect(["sgx-node-1", "sgx-node-2"]).toContain(outcome.to ?? "");
      const old = await client.get<V1Node & KubeObject>({ apiVersion: "v1", kind: "Node", name: before ?? "" });
      expect(old.spec?.unschedulable).toBeFalsy();
      // The flow's HEALTHY may still be the status of the pod that left (a reconcile of the new one can follow it).
      const cas = await waitFor("HEALTHY after the move", async () => {
        const c = await getCas(NAME);
        return isHealthy(c) ? c : undefined;
      });
      expect(cas.status?.phase).toBe("HEALTHY");
    },
    TIMEOUT,
  );
});
