// END TO END with the COMPILED binary: the local cluster (kube-apiserver, scheduler, controller-manager, KWOK nodes),
// CAS pods backed by the CAS simulator (sim/kwok-cas), the real S3 server (versitygw), and `scone operator` running
// as a local process (webhooks in url mode, CAS reached through port-forwards). The whole life of a CAS:
//   install (scone operator install --reconcile --local-operator) → operator → scone cas provision --wait (HEALTHY)
//   → scone cas backup to a directory and to S3 → a corrupted backup refused → scone cas restore into a new CAS
//   → scone cas upgrade → scone cas evict → status, audit, backups.
// Each day-2 command is SIGKILLed once in the middle (right after a step with an effect) and run again: the rerun
// continues and ends where an uninterrupted run would. The test plays the backup controller (node registrations).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { type CasPodRuntime, startCasPodRuntime } from "../../sim/kwok-cas/runtime.ts";
import { KubeClient } from "../../src/kube/client.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import type { CAS } from "../../src/resources/cas.ts";
import { writeStandInCli } from "../harness/cas-driver.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../harness/cluster.ts";
import {
  casClaims,
  cleanNodes,
  type PlayedBackupController,
  prepareCasNodesAndVolumes,
  RESTORED_AS_EXPECTED,
  restoredFacts,
  startBackupControllerPlayer,
} from "../harness/day2.ts";
import {
  BINARY,
  backupPolicyUpdates,
  binaryPresent,
  buildStandInCli,
  freePort,
  NEW_BACKUP_CLI_MRENCLAVE,
  removeInstall,
} from "../harness/flows.ts";
import { waitFor } from "../harness/kube.ts";
import { installCrds } from "../harness/operator.ts";
import { sharedS3 } from "../harness/s3.ts";

const suffix = Math.random().toString(36).slice(2, 8);
const OP_NS = `e2e-op-${suffix}`;
const NS = `e2e-apps-${suffix}`;
const NAME = "cas";
const RESTORED = "restored";
const BUCKET = "scone-e2e";
const TIMEOUT = 600_000;
/** How long a status may take to follow a finished flow (operator probe and requeue periods, a loaded machine). */
const SETTLE_MS = 120_000;
const DCAP = "0123456789abcdef0123456789abcdef";

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly killed: boolean;
}

describe.skipIf(!clusterAvailable() || !binaryPresent)(
  "scone end to end (compiled binary, KWOK + CAS simulator + S3)",
  () => {
    let cluster: LocalCluster;
    let admin: KubeClient;
    let runtime: CasPodRuntime;
    let operator: Subprocess<"ignore", "pipe", "pipe"> | undefined;
    let operatorLog = "";
    const players: PlayedBackupController[] = [];
    const root = mkdtempSync(join(tmpdir(), "scone-e2e-"));
    const stateDir = join(root, "state");
    const casHome = join(root, "cas-home");
    /** The CAS driver of provision and upgrade: the compiled stand-in SCONE CLI (KWOK runs no sconecli pod). */
    const sconeCli = join(root, "scone-cli-sim");
    let env: Record<string, string> = {};
    const ids: { dir?: string; s3?: string } = {};

    const getCas = (name: string) =>
      admin.tryGet<CAS>({ apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", namespace: NS, name });
    /**
     * The CAS status once the operator has reconciled the latest spec and `settled` holds, or the last status seen
     * when it never does (the caller's expect then shows it). The status follows a flow's end asynchronously: a
     * direct read right after a command may still be the operator's previous conclusion.
     */
    const settledStatus = async (name: string, settled: (s: NonNullable<CAS["status"]>) => boolean) => {
      let last: CAS["status"];
      await waitFor(
        `CAS ${NS}/${name} to settle`,
        async () => {
          const cas = await getCas(name);
          last = cas?.status;
          const current = (last?.observedGeneration ?? 0) >= (cas?.metadata.generation ?? 0);
          return last !== undefined && current && settled(last);
        },
        SETTLE_MS,
      ).catch(() => undefined);
      return last;
    };
    const common = () => ["--kubeconfig", cluster.kubeconfigPath, "--state-dir", stateDir];

    /** Runs the binary; with `killAfter`, SIGKILLs it as soon as that step's "✓ <title>" line appears on stderr. */
    async function scone(
      args: string[],
      opts: { killAfter?: string; killWhen?: () => boolean; env?: Record<string, string> } = {},
    ): Promise<Run> {
      const proc = Bun.spawn([BINARY, ...args], {
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, KUBECONFIG: "", NO_COLOR: "1", ...(opts.env ?? env) },
        timeout: TIMEOUT,
      });
      let stderr = "";
      let killed = false;
      const kill = () => {
        if (killed) return;
        killed = true;
        proc.kill("SIGKILL");
      };
      const watcher = opts.killWhen
        ? setInterval(() => {
            if (opts.killWhen?.()) kill();
          }, 5)
        : undefined;
      const reading = (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of proc.stderr) {
          stderr += decoder.decode(chunk, { stream: true });
          if (opts.killAfter && stderr.includes(`✓ ${opts.killAfter}`)) kill();
        }
      })();
      const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited, reading]);
      if (watcher) clearInterval(watcher);
      return { code, stdout, stderr, killed };
    }

    const ok = (r: Run) => {
      if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}\n${r.stdout}`);
      return r;
    };

    beforeAll(async () => {
      await buildStandInCli(sconeCli);
      cluster = await sharedCluster();
      admin = await KubeClient.load({ kubeconfig: cluster.kubeconfigPath });
      await installCrds(admin);
      await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
      // Pods are refused until the controller-manager has made the namespace's default ServiceAccount.
      await waitFor(
        `serviceaccount ${NS}/default`,
        () => admin.tryGet({ apiVersion: "v1", kind: "ServiceAccount", namespace: NS, name: "default" }),
        TIMEOUT,
      );
      await prepareCasNodesAndVolumes(admin, NS, [NAME, RESTORED]);
      runtime = await startCasPodRuntime({
        kubeconfig: cluster.kubeconfigPath,
        stateDir: join(root, "kwok-cas"),
        log: () => {},
      });
      const s3 = await sharedS3();
      await s3.bucket(BUCKET);
      env = {
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AWS_ENDPOINT_URL: s3.endpoint,
        AWS_REGION: s3.region,
      };
      // The test is the backup controller of both CAS.
      players.push(startBackupControllerPlayer(admin, NS, NAME), startBackupControllerPlayer(admin, NS, RESTORED));
    }, TIMEOUT);

    afterAll(async () => {
      // Each step on its own: one that fails must not leave the rest (webhooks, nodes, the operator) behind.
      const step = (p: Promise<unknown> | undefined) => Promise.resolve(p).catch(() => undefined);
      await Promise.all(players.map((p) => step(p.stop())));
      if (operator) {
        operator.kill("SIGTERM");
        const exited = await Promise.race([operator.exited.then(() => true), Bun.sleep(30_000).then(() => false)]);
        if (!exited) operator.kill("SIGKILL");
      }
      await step(runtime?.stop());
      if (admin) {
        // First the webhook configurations (failurePolicy Fail, pointing at the stopped operator: they would refuse
        // every CAS, LAS and SGXPlugin write in the cluster, the finalizer removals below included), then the rest.
        await step(removeInstall(admin, OP_NS));
        await step(cleanNodes(admin, NS, [NAME, RESTORED, "bad"]));
        for (const name of [NAME, RESTORED])
          await step(
            admin.patch(
              { apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", namespace: NS, name },
              { metadata: { finalizers: null } },
            ),
          );
        await step(admin.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: NS }));
        for (const name of [NAME, RESTORED])
          for (const claim of casClaims(name))
            await step(admin.deleteIfExists({ apiVersion: "v1", kind: "PersistentVolume", name: `${NS}-${claim}` }));
      }
      if (process.env.SCONE_TEST_SHOW) console.error(operatorLog.slice(-20_000));
      rmSync(root, { recursive: true, force: true });
    }, TIMEOUT);

    test(
      "install with --reconcile --local-operator, the operator as a local process",
      async () => {
        const webhookPort = await freePort();
        operator = Bun.spawn(
          [
            BINARY,
            "operator",
            ...common(),
            "-n",
            OP_NS,
            "--probe-port",
            String(await freePort()),
            "--metrics-port",
            String(await freePort()),
            "--webhook-mode",
            "url",
            "--webhook-port",
            String(webhookPort),
            // KWOK runs no sconecli pod: the operator asks CAS through the stand-in CLI, locally.
            "--scone-cli",
            writeStandInCli(join(root, "cli")),
          ],
          { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, KUBECONFIG: "" } },
        );
        void (async () => {
          const decoder = new TextDecoder();
          for await (const chunk of operator?.stdout ?? []) operatorLog += decoder.decode(chunk, { stream: true });
        })();
        void (async () => {
          const decoder = new TextDecoder();
          for await (const chunk of operator?.stderr ?? []) operatorLog += decoder.decode(chunk, { stream: true });
        })();
        const install = await scone([
          "operator",
          "install",
          "--no-image-signature-check", // the images here are unsigned (test/integration/images/signature.test.ts checks signatures)
          "--kubeconfig",
          cluster.kubeconfigPath,
          "-n",
          OP_NS,
          "--username",
          "e2e",
          "--email",
          "e2e@example.com",
          "--dcap-api",
          DCAP,
          "--access-token",
          `e2e-token-${suffix}-abcdef`,
          "--timeout",
          "120",
          "--reconcile",
          "--local-operator",
          `127.0.0.1:${webhookPort}`,
        ]);
        ok(install);
        expect(install.stdout).toMatch(/^created +LAS las$/m);
      },
      TIMEOUT,
    );

    test(
      "scone cas provision --wait: HEALTHY",
      async () => {
        const provision = ok(
          await scone([
            "cas",
            "provision",
            NAME,
            "-n",
            NS,
            "--kubeconfig",
            cluster.kubeconfigPath,
            "--target",
            casHome,
            "--dcap-api",
            DCAP,
            "--wait",
            "--scone-cli",
            sconeCli,
          ]),
        );
        expect(provision.stdout).toContain("PUBLIC CAS_KEY=");
        // Snapshots every 2 s instead of the default 60 s, so there is one to back up.
        const patched = await admin.patch<CAS>(
          { apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", namespace: NS, name: NAME },
          { spec: { databaseSnapshots: { interval: "2s" } } },
          "merge",
          { fieldManager: "scone-e2e" },
        );
        // The change rolls the CAS pod: HEALTHY counts only for the patched generation (the status from before the
        // patch is HEALTHY too, and may already carry a snapshot taken on the 60 s interval).
        await waitFor(
          "HEALTHY on the 2 s snapshot interval, with a snapshot",
          async () => {
            const s = (await getCas(NAME))?.status;
            return (
              (s?.observedGeneration ?? 0) >= (patched.metadata.generation ?? 1) &&
              s?.phase === "HEALTHY" &&
              s.snapshotConfiguredInterval === 2 &&
              s.snapshotTimestamp !== undefined
            );
          },
          TIMEOUT,
        );
        const status = JSON.parse(ok(await scone(["cas", "status", NAME, "-n", NS, ...common(), "-o", "json"])).stdout);
        expect(status).toMatchObject({
          phase: "HEALTHY",
          provisioned: "Yes",
          version: "6.0.6",
          pod: { zone: "zone-a" },
        });
      },
      TIMEOUT,
    );

    test(
      "scone cas backup to a directory (killed once, run again) and to S3; scone cas backups lists them",
      async () => {
        const owner = join(stateDir, "backup-owners", `${NS}.${NAME}.pid`);
        const killedRun = await scone(["cas", "backup", NAME, "-n", NS, ...common(), "--to", join(root, "backups")], {
          killWhen: () => existsSync(owner),
        });
        const toDir = ok(
          await scone(["cas", "backup", NAME, "-n", NS, ...common(), "--to", join(root, "backups"), "-o", "json"]),
        );
        const dir = JSON.parse(toDir.stdout) as { ok: boolean; record: { id: string; target: string } };
        expect(dir.ok).toBe(true);
        ids.dir = dir.record.target;
        const toS3 = ok(
          await scone(["cas", "backup", NAME, "-n", NS, ...common(), "--to", `s3://${BUCKET}/e2e`, "-o", "json"]),
        );
        const onS3 = JSON.parse(toS3.stdout) as { record: { id: string; target: string } };
        ids.s3 = onS3.record.id;
        expect(onS3.record.target).toStartWith(`s3://${BUCKET}/e2e/${NS}/${NAME}/bk-`);

        // Credentials from a Secret instead of the environment (--s3-secret NS/NAME).
        const s3 = await sharedS3();
        await admin.create({
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "backup-s3", namespace: NS },
          stringData: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, endpoint: s3.endpoint },
        } as KubeObject);
        const viaSecret = await scone(
          [
            "cas",
            "backup",
            NAME,
            "-n",
            NS,
            ...common(),
            "--to",
            `s3://${BUCKET}/secret`,
            "--s3-secret",
            `${NS}/backup-s3`,
          ],
          { env: {} },
        );
        expect(viaSecret.stdout).toMatch(/^bk-\S+ completed: s3:\/\/scone-e2e\/secret\//);
        const noCredentials = await scone(["cas", "backup", NAME, "-n", NS, ...common(), "--to", `s3://${BUCKET}/x`], {
          env: {},
        });
        expect(noCredentials.code).toBe(1);
        expect(noCredentials.stderr).toContain("AWS_ACCESS_KEY_ID");
        const list = JSON.parse(
          ok(await scone(["cas", "backups", NAME, "-n", NS, ...common(), "-o", "json"])).stdout,
        ) as {
          id: string;
          phase: string;
          error: string | null;
        }[];
        const completed = list.filter((b) => b.phase === "completed").map((b) => b.id);
        expect(completed).toEqual(expect.arrayContaining([dir.record.id, onS3.record.id]));
        // What the directory holds, read from the directory itself (no catalog): the same sets, with manifests.
        const inDir = JSON.parse(
          ok(await scone(["cas", "backups", "--from", join(root, "backups"), "-n", NS, "-o", "json"])).stdout,
        ) as { id: string; manifest: unknown }[];
        expect(inDir.map((b) => b.id)).toContain(dir.record.id);
        expect(inDir.find((b) => b.id === dir.record.id)?.manifest).toMatchObject({
          cas: { name: NAME, namespace: NS },
        });
        // The killed run left nothing running: it completed before the kill, or its row was given up.
        expect(list.filter((b) => b.phase === "running")).toEqual([]);
        if (killedRun.killed)
          for (const b of list.filter((x) => x.phase === "failed")) expect(b.error).toContain("abandoned");
      },
      TIMEOUT,
    );

    test(
      "a corrupted and an incomplete backup are refused before anything is created",
      async () => {
        const corrupt = join(root, "corrupt");
        mkdirSync(corrupt);
        for (const f of readdirSync(ids.dir ?? "")) await Bun.write(join(corrupt, f), Bun.file(join(ids.dir ?? "", f)));
        await writeFile(join(corrupt, "cas.db"), "tampered");
        const refused = await scone(["cas", "restore", "bad", "-n", NS, ...common(), "--from", corrupt]);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain("cas.db");
        const incomplete = join(root, "incomplete");
        mkdirSync(incomplete);
        await Bun.write(join(incomplete, "cas.db"), Bun.file(join(ids.dir ?? "", "cas.db")));
        const refused2 = await scone(["cas", "restore", "bad", "-n", NS, ...common(), "--from", incomplete]);
        expect(refused2.code).toBe(1);
        expect(refused2.stderr).toContain("incomplete or interrupted backup");
        expect(await getCas("bad")).toBeUndefined();
      },
      TIMEOUT,
    );

    test(
      "scone cas restore from the S3 backup (catalog id), killed after creating the CAS, run again: same CAS identity",
      async () => {
        const args = ["cas", "restore", RESTORED, "-n", NS, ...common(), "--from", ids.s3 ?? ""];
        const first = await scone(args, { killAfter: "Create the new CAS with the recovery image" });
        expect(first.killed).toBe(true);
        const second = ok(await scone(args));
        expect(second.stderr).toContain("· Create the new CAS with the recovery image");
        expect(second.stdout).toContain(`CAS ${NS}/${RESTORED} restored from ${ids.s3}`);
        // The console is read through kwok's Logs route, which follows the new pod through kwok's own watch.
        let facts: Awaited<ReturnType<typeof restoredFacts>> | undefined;
        await waitFor(
          "the restored CAS's facts",
          async () => {
            facts = await restoredFacts(admin, NS, RESTORED, NAME);
            return Bun.deepEquals(facts, RESTORED_AS_EXPECTED);
          },
          SETTLE_MS,
        ).catch(() => undefined);
        expect(facts).toEqual(RESTORED_AS_EXPECTED);
      },
      TIMEOUT,
    );

    test(
      "scone cas upgrade --to-version 6.0.7 --backup-mrenclave, killed after the backup controller step, run again: HEALTHY on 6.0.7",
      async () => {
        const newCli = NEW_BACKUP_CLI_MRENCLAVE;
        const policyUpdates = () => backupPolicyUpdates(join(root, "kwok-cas"), NS, `${NAME}-0`);
        const updatesBefore = policyUpdates();
        const args = [
          "cas",
          "upgrade",
          NAME,
          "-n",
          NS,
          ...common(),
          "--to-version",
          "6.0.7",
          "--backup-mrenclave",
          newCli,
          "--target",
          casHome,
          "--scone-cli",
          sconeCli,
        ];
        const first = await scone(args, { killAfter: "Point the backup controller at the new version" });
        expect(first.killed).toBe(true);
        expect(first.stderr).toContain("Admit the new backup controller's CLI in the backup policy");
        const second = ok(await scone(args));
        // The policy was updated once, by the killed run (owner identity of --target, predecessor = its hash).
        expect(second.stderr).toContain("· Admit the new backup controller's CLI in the backup policy");
        expect(policyUpdates()).toBe(updatesBefore + 1);
        expect(second.stderr).toContain("· Point the backup controller at the new version");
        expect(second.stdout).toContain(`CAS ${NS}/${NAME} upgraded from 6.0.6 to 6.0.7`);
        // The flow accepts a version the probe has not reported yet; the status names it a moment later.
        const status = await settledStatus(NAME, (s) => s.phase === "HEALTHY" && s.version === "6.0.7");
        expect(status).toMatchObject({ phase: "HEALTHY", version: "6.0.7" });
        const again = await scone(args);
        expect(again.code).toBe(1);
        expect(again.stderr).toContain("already runs version 6.0.7");
      },
      TIMEOUT,
    );

    test(
      "scone cas evict, killed after the cordon, run again: HEALTHY on the other zone-a node, node uncordoned",
      async () => {
        const podNode = async () =>
          (
            await admin.tryGet<KubeObject & { spec?: { nodeName?: string } }>({
              apiVersion: "v1",
              kind: "Pod",
              namespace: NS,
              name: `${NAME}-0`,
            })
          )?.spec?.nodeName;
        const before = await podNode();
        const args = ["cas", "evict", NAME, "-n", NS, ...common()];
        const first = await scone(args, { killAfter: "Cordon the node CAS leaves" });
        expect(first.killed).toBe(true);
        const node = await admin.get<KubeObject & { spec?: { unschedulable?: boolean } }>({
          apiVersion: "v1",
          kind: "Node",
          name: before ?? "",
        });
        expect(node.spec?.unschedulable).toBe(true);
        const second = ok(await scone(args));
        expect(second.stderr).toContain("· Cordon the node CAS leaves");
        const after = await podNode();
        expect(after).not.toBe(before);
        expect(["sgx-node-1", "sgx-node-2"]).toContain(after ?? "");
        const uncordoned = await admin.get<KubeObject & { spec?: { unschedulable?: boolean } }>({
          apiVersion: "v1",
          kind: "Node",
          name: before ?? "",
        });
        expect(uncordoned.spec?.unschedulable).toBeFalsy();
        // The uncordon and the removed move record come after the flow's HEALTHY: the operator reconciles again.
        expect((await settledStatus(NAME, (s) => s.phase === "HEALTHY"))?.phase).toBe("HEALTHY");
      },
      TIMEOUT,
    );

    test(
      "scone cas audit indexes the log and the SCONE CLI verifies it; --search finds entries; status shows backups and no move",
      async () => {
        const audit = ok(
          await scone(["cas", "audit", NAME, "-n", NS, ...common(), "--scone-cli", sconeCli, "-o", "json"]),
        );
        const result = JSON.parse(audit.stdout) as { entries: number; verification?: { exitCode: number } };
        expect(result.entries).toBeGreaterThan(2);
        expect(result.verification).toMatchObject({ exitCode: 0, correct: true });
        const search = ok(await scone(["cas", "audit", NAME, "-n", NS, ...common(), "--event", "cas_started"]));
        expect(search.stdout).toMatch(/^SEQ\s+TIME\s+EVENT/);
        expect(search.stdout).toContain("cas_started");
        const status = JSON.parse(ok(await scone(["cas", "status", NAME, "-n", NS, ...common(), "-o", "json"])).stdout);
        expect(status).toMatchObject({ phase: "HEALTHY", version: "6.0.7" });
        expect(status.evictInProgress).toBeUndefined();
        expect(status.backups.length).toBeGreaterThanOrEqual(2);
      },
      TIMEOUT,
    );
  },
);
