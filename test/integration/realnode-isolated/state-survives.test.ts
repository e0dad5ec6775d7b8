// Issue 14's done-when on the real node: what the operator knows survives its pod. The operator runs in its pod on
// the real node (scone's image), a Scone stack backs up its provisioned CAS every 60 s to S3 (the test's versitygw,
// reached through S3Relay on the node's address) and ships the CAS's audit log there. The operator pod is deleted
// while a scheduled backup and an audit segment are being uploaded (the relay holds those PUTs). After the restart:
// the catalog in the new pod lists every set of the target, retention (1 day) removed exactly the sets older than a
// day, the archive holds every audit entry once with verified chains — across a CAS pod restart too — and
// `scone operator history` from outside shows the reconciles of the deleted pod. Then the stack's target is switched
// to the operator's backup volume (spec.backup.s3Creds removed): a backup lands there, and after a second operator
// restart the new pod's catalog lists the volume's sets. One stack has one target, so S3 and volume are one after the
// other. Opt-in like the rest of this directory (`make test-realnode`).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CoreV1Event } from "@kubernetes/client-node";
import { startCasPodRuntime } from "../../../sim/kwok-cas/runtime.ts";
import { openTarget } from "../../../src/backup/index.ts";
import { listTargetBackups } from "../../../src/backup/list.ts";
import { PodSnapshotSource } from "../../../src/backup/pod-snapshot-source.ts";
import { runBackup } from "../../../src/backup/run.ts";
import { S3Credentials } from "../../../src/backup/s3-credentials.ts";
import { S3Target } from "../../../src/backup/s3-target.ts";
import { listArchive, type ReadSegment, readArchive } from "../../../src/flows/audit/archive/archive.ts";
import { coverageOf, overlapsOf } from "../../../src/flows/audit/archive/plan.ts";
import { DEPLOYMENT_NAME } from "../../../src/install/names.ts";
import { STATE_DIR } from "../../../src/install/operator.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { LAST_BACKUP_ANNOTATION } from "../../../src/operator/scone/backup-schedule.ts";
import { SCONE_TYPE, STACK_CAS_TYPE } from "../../../src/operator/scone/render.ts";
import type { CAS } from "../../../src/resources/cas.ts";
import type { Scone } from "../../../src/resources/scone.ts";
import { openStore, type Store } from "../../../src/store/open.ts";
import { DEFAULT_SCONE_SERVICE_VERSION } from "../../../src/version.ts";
import { cleanup as cleanupFixtures, localExec, snapshotRoot } from "../../harness/backup-fixtures.ts";
import { backupVolumeDir, preboundBackupVolume, removeBackupVolume } from "../../harness/backup-volume.ts";
import { clusterAvailable, type LocalCluster, type RealNodeHandle, realNodeCluster } from "../../harness/cluster.ts";
import { casClaims, cleanNodes, prepareCasNodesAndVolumes, startBackupControllerPlayer } from "../../harness/day2.ts";
import { BINARY, binaryPresent, removeAllLasAndSgxPlugins, removeInstall, scone } from "../../harness/flows.ts";
import { adminClient, waitFor } from "../../harness/kube.ts";
import { realNodeTestsEnabled } from "../../harness/real-node-enabled.ts";
import {
  buildOperatorImage,
  importSconecliImage,
  operatorPods,
  type PodView,
  readyOperatorPods,
  realNodeInstallArgs,
} from "../../harness/real-node-operator.ts";
import { type SharedS3, sharedS3 } from "../../harness/s3.ts";
import { SimulatedPodBridge } from "../../harness/simulated-pod-bridge.ts";
import { S3Relay } from "./s3-relay.ts";

const NS = `scone-survive-${Math.random().toString(36).slice(2, 8)}`;
const STACK = "stack";
const CAS_NAME = "cas";
const BUCKET = `survive-${Math.random().toString(36).slice(2, 8)}`;
const PREFIX = "scone-backups";
const TIMEOUT = 300_000;
const DAY_MS = 86_400_000;
const SCONE_REF = { ...SCONE_TYPE, name: STACK };
const CAS_REF = { ...STACK_CAS_TYPE, namespace: NS, name: CAS_NAME };
const CAS_KEY = { namespace: NS, name: CAS_NAME };

const enabled = clusterAvailable() && realNodeTestsEnabled() && binaryPresent;

const seqOf = (line: string) => (JSON.parse(line) as { seq: number }).seq;
const signatureOf = (line: string) => (JSON.parse(line) as { signature: string }).signature;

describe.skipIf(!enabled)("the operator's state survives its pod (issue 14)", () => {
  let cluster: LocalCluster;
  let node: RealNodeHandle;
  let admin: KubeClient;
  let work: string;
  let s3: SharedS3;
  let relay: S3Relay;
  let target: S3Target;
  const stops: (() => Promise<unknown> | unknown)[] = [];
  const stores: Store[] = [];

  const kubectl = async (args: string[]) => {
    const r = await cluster.kubectl(["-n", NS, ...args]);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const getScone = () => admin.get<Scone>(SCONE_REF);
  const lastBackup = async () => Date.parse((await getScone()).metadata.annotations?.[LAST_BACKUP_ANNOTATION] ?? "");
  /** Complete sets (a parsed manifest) of the CAS in a target, by id. */
  const completeSets = async (t: S3Target | ReturnType<typeof openTarget>) =>
    (await listTargetBackups(t, CAS_KEY))
      .filter((b) => b.manifest !== null)
      .map((b) => b.id)
      .sort();
  /** The backup catalog of the operator pod's own store (its state dir), read in the pod by scone's binary. */
  const podCatalog = async (pod: string) => {
    const out = await kubectl([
      "exec",
      pod,
      "--",
      "/scone",
      "cas",
      "backups",
      CAS_NAME,
      "-n",
      NS,
      "--state-dir",
      STATE_DIR,
      "-o",
      "json",
    ]);
    return (JSON.parse(out) as { id: string; phase: string }[])
      .filter((r) => r.phase === "completed")
      .map((r) => r.id)
      .sort();
  };
  const logLines = async () =>
    (await admin.podLogs({ namespace: NS, name: `${CAS_NAME}-0` }, { container: "audit" }))
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.startsWith("{"));
  /** restart-cas in the CAS pod: the simulator logs three entries (cas_exited, an attestation, cas_started). */
  const grow = async () => {
    const before = (await logLines()).length;
    await kubectl(["exec", `${CAS_NAME}-0`, "-c", "cas", "--", "bash", "restart-cas"]);
    await waitFor("three more audit entries", async () => (await logLines()).length >= before + 3, 90_000);
  };
  const archivedThrough = async (log: string, last: number) =>
    coverageOf(await listArchive(target, CAS_KEY), log).through >= last;
  /**
   * What the shipper and the runner were doing, for a wait that timed out: the CAS's AuditShipped condition, the
   * Scone's BackupScheduled, the relay's last requests and the operator's warnings.
   */
  const diagnose = async (): Promise<string> => {
    const cas = await admin.tryGet<CAS>(CAS_REF).catch(() => undefined);
    const stack = await admin.tryGet<Scone>(SCONE_REF).catch(() => undefined);
    const lines: string[] = [
      `AuditShipped: ${JSON.stringify(cas?.status?.conditions?.find((c) => c.type === "AuditShipped"))}`,
      `BackupScheduled: ${JSON.stringify(stack?.status?.conditions?.find((c) => c.type === "BackupScheduled"))}`,
      `relay's last requests: ${relay.requests.slice(-8).join(", ")}`,
    ];
    for (const p of await operatorPods(admin, NS).catch((): PodView[] => [])) {
      const log = await admin.podLogs({ namespace: NS, name: p.metadata?.name ?? "" }).catch(() => "");
      const notable = log.split("\n").filter((l) => /"level":"(warn|error)"/.test(l));
      const restarts = p.status?.containerStatuses?.[0]?.restartCount ?? 0;
      lines.push(`operator ${p.metadata?.name} (${restarts} restarts): ${notable.slice(-10).join("\n")}`);
    }
    return lines.join("\n");
  };
  /** A wait whose timeout says what the operator was doing. */
  const explained = <T>(wait: Promise<T>): Promise<T> =>
    wait.catch(async (e: unknown) => {
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n${await diagnose()}`);
    });
  /** The CAS pod's current log (its first entry's signature) and lines, once the archive holds it through its end. */
  const archivedCurrentLog = (what: string) =>
    explained(
      waitFor(
        what,
        async () => {
          const lines = await logLines();
          const log = lines[0] === undefined ? "" : signatureOf(lines[0]);
          return log !== "" && (await archivedThrough(log, lines.length - 1)) ? { log, lines } : undefined;
        },
        180_000,
      ),
    );
  /** The one operator pod, Ready on the real node (a new one when `not` names the deleted one). */
  const operatorPod = async (not?: string): Promise<PodView> => {
    const found = await waitFor(
      "a new operator pod",
      async () => {
        const pods = await readyOperatorPods(admin, NS, 1, 150_000);
        return pods.find((p) => p.metadata?.name !== not);
      },
      150_000,
    );
    expect(found.spec?.nodeName).toBe(node.name);
    return found;
  };

  beforeAll(async () => {
    cluster = await realNodeCluster();
    if (!cluster.realNode) throw new Error("realNodeCluster() returned a cluster without a real node");
    node = cluster.realNode;
    admin = await adminClient(cluster);
    work = await mkdtemp(join(tmpdir(), "scone-survive-test-"));
    const image = await buildOperatorImage(join(work, "image"));
    await node.importArchive(image.archive);
    await importSconecliImage(node, work);

    s3 = await sharedS3();
    await s3.bucket(BUCKET);
    const url = new URL(s3.endpoint);
    relay = new S3Relay({ host: url.hostname, port: Number(url.port) });
    stops.push(() => relay.stop());
    target = new S3Target(
      BUCKET,
      PREFIX,
      new S3Credentials(
        { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: s3.region, endpoint: s3.endpoint },
        "test",
      ),
    );

    // The operator's backup claim binds to a directory of this machine (no provisioner here).
    await preboundBackupVolume(admin, NS);
    const install = await scone(
      realNodeInstallArgs({ kubeconfig: cluster.kubeconfigPath, namespace: NS, node: node.name }),
      240_000,
    );
    if (install.code !== 0) throw new Error(`install exited ${install.code}: ${install.stderr}`);

    const runtime = await startCasPodRuntime({
      kubeconfig: cluster.kubeconfigPath,
      stateDir: join(work, "kwok-cas"),
      log: () => {},
    });
    stops.push(() => runtime.stop());
    const bridge = new SimulatedPodBridge(admin, node, NS, `${CAS_NAME}-0`);
    stops.push(() => bridge.stop());
    const player = startBackupControllerPlayer(admin, NS, CAS_NAME);
    stops.push(() => player.stop());
    await prepareCasNodesAndVolumes(admin, NS, [CAS_NAME]);

    // The bucket's credentials as spec.backup.s3Creds names them; the endpoint is the relay, which pods reach.
    await admin.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "survive-s3", namespace: NS },
      stringData: {
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        region: s3.region,
        endpoint: relay.endpoint,
        bucket: BUCKET,
      },
    } as KubeObject);
    await admin.create({
      ...SCONE_TYPE,
      metadata: { name: STACK },
      spec: {
        serviceVersion: DEFAULT_SCONE_SERVICE_VERSION,
        backup: { interval: 60, retention: 1, s3Creds: { namespace: NS, secret: "survive-s3" } },
        operatorNodeSelector: { "kubernetes.io/hostname": node.name },
        // LAS, SGX plugin and CAS (and its companions) on the SGX KWOK nodes: the real node pulls nothing.
        serviceNodeSelector: { "sgx.intel.com/capable": "true" },
      },
    } as KubeObject);
    await waitFor("the stack's CAS", () => admin.tryGet<CAS>(CAS_REF), 120_000);

    // The CAS's companions (backup controller, safety service) have no node selector: kept off the real node while
    // they are created, which would try to pull them from registry.scontain.com (nothing leaves this machine).
    // Uncordoned afterwards: the operator's next pod must be scheduled there.
    const nodeRef = { apiVersion: "v1", kind: "Node", name: node.name };
    await admin.patch(nodeRef, { spec: { unschedulable: true } }, "merge");
    stops.push(() => admin.patch(nodeRef, { spec: { unschedulable: null } }, "merge"));
    const provision = await scone(
      [
        ...["cas", "provision", CAS_NAME, "-n", NS, "--kubeconfig", cluster.kubeconfigPath],
        ...["--state-dir", join(work, "cli-state"), "--target", join(work, "cas-home")],
        ...["--dcap-api", "0123456789abcdef0123456789abcdef", "--wait"],
        ...["--cli-node-selector", `kubernetes.io/hostname=${node.name}`],
      ],
      280_000,
    );
    if (provision.code !== 0) {
      const status = (await admin.tryGet<CAS>(CAS_REF))?.status;
      throw new Error(`provision exited ${provision.code}: ${provision.stderr}\nCAS status: ${JSON.stringify(status)}`);
    }
    await admin.patch(nodeRef, { spec: { unschedulable: null } }, "merge");
  }, 900_000);

  afterAll(async () => {
    const step = async (f: () => Promise<unknown> | unknown) => {
      try {
        await f();
      } catch {
        // Every clean-up step runs.
      }
    };
    if (admin) {
      await step(() => admin.patch(SCONE_REF, { metadata: { finalizers: null } }, "merge"));
      await step(() => admin.deleteIfExists(SCONE_REF));
      await step(() => admin.patch(CAS_REF, { metadata: { finalizers: null } }, "merge"));
      await step(() => removeAllLasAndSgxPlugins(admin));
    }
    for (const stop of stops.reverse()) await step(stop);
    for (const s of stores) await step(() => s.close());
    if (admin) {
      await step(() => cleanNodes(admin, NS, [CAS_NAME]));
      await step(() => removeInstall(admin, NS));
      await step(() => removeBackupVolume(admin, NS));
      for (const claim of casClaims(CAS_NAME))
        await step(() => admin.deleteIfExists({ apiVersion: "v1", kind: "PersistentVolume", name: `${NS}-${claim}` }));
    }
    cleanupFixtures();
    if (work) await rm(work, { recursive: true, force: true });
  }, 180_000);

  // Filled by the tests in order: what was there before the restart.
  let deletedPod = "";
  let deletedAt = 0;
  let expired: string[] = [];
  let kept: string[] = [];

  test(
    "before the restart: a scheduled backup in the bucket, the audit log shipping there",
    async () => {
      await explained(waitFor("a scheduled backup", async () => (await lastBackup()) > 0, 180_000));
      expect((await completeSets(target)).length).toBeGreaterThanOrEqual(1);
      await archivedCurrentLog("the audit log archived so far");
      // The operator pod reached the bucket through the relay.
      expect(relay.requests.some((r) => r.startsWith(`PUT /${BUCKET}/${PREFIX}/${NS}/${CAS_NAME}/bk-`))).toBe(true);
    },
    TIMEOUT,
  );

  test(
    "the operator pod is deleted while a scheduled backup and an audit segment are being uploaded",
    async () => {
      const [pod] = await readyOperatorPods(admin, NS, 1);
      deletedPod = pod?.metadata?.name ?? "";
      const setPut = new RegExp(`^PUT /${BUCKET}/${PREFIX}/${NS}/${CAS_NAME}/bk-`);
      const auditPut = new RegExp(`^PUT /${BUCKET}/${PREFIX}/_audit/${NS}/${CAS_NAME}/`);
      relay.hold(new RegExp(`^/${BUCKET}/${PREFIX}/(_audit/)?${NS}/${CAS_NAME}/`));
      await grow();
      // The next backup is due 60 s after the last; the segment within the shipper's 5 s.
      await explained(
        waitFor(
          "a backup set and an audit segment upload held",
          () => relay.held.some((r) => setPut.test(r)) && relay.held.some((r) => auditPut.test(r)),
          150_000,
        ),
      );
      // Sets from before (written by an earlier operator, say): two older than the 1-day retention, one within it.
      // Seeded now, while the deleted pod cannot apply retention any more, so only the new pod decides about them.
      const snap = snapshotRoot();
      const seedStore = openStore({ stateDir: join(work, "seed-state") });
      stores.push(seedStore);
      const seed = async (ageMs: number) =>
        (
          await runBackup({
            cas: { namespace: NS, name: CAS_NAME, version: DEFAULT_SCONE_SERVICE_VERSION, provisioned: true },
            source: new PodSnapshotSource({ namespace: NS, name: CAS_NAME, exec: localExec(), snapshotDir: snap.root }),
            target,
            store: seedStore,
            now: () => Date.now() - ageMs,
          })
        ).id;
      expired = [await seed(3 * DAY_MS), await seed(2 * DAY_MS)];
      kept = await completeSets(target);
      expect(kept).toEqual(expect.arrayContaining(expired));
      kept = kept.filter((id) => !expired.includes(id));
      kept.push(await seed(DAY_MS / 2));

      deletedAt = Date.now();
      await admin.delete({ apiVersion: "v1", kind: "Pod", namespace: NS, name: deletedPod });
      // The deleted pod's held uploads fail and it reaches S3 no more (its retries would otherwise complete them
      // during its grace period); the new pod's requests pass.
      relay.release(pod?.status?.podIP);
      await operatorPod(deletedPod);
    },
    TIMEOUT,
  );

  test(
    "after the restart: the catalog lists every set; retention removed exactly the expired ones",
    async () => {
      // The new pod's first scheduled backup (the interrupted one never completed: due at once), then retention.
      await explained(waitFor("a backup by the new pod", async () => (await lastBackup()) > deletedAt, 180_000));
      const inBucket = await completeSets(target);
      for (const id of expired) expect(inBucket).not.toContain(id);
      expect(inBucket).toEqual(expect.arrayContaining(kept));
      // Besides the kept ones: the new pod's own backups (the interrupted one left no manifest, so no set).
      expect(inBucket.filter((id) => !kept.includes(id)).length).toBeGreaterThanOrEqual(1);
      const pod = await operatorPod(deletedPod);
      expect(await podCatalog(pod.metadata?.name ?? "")).toEqual(inBucket);
      const events = (
        await admin.list<CoreV1Event>({ apiVersion: "v1", kind: "Event" }, { namespace: "default" })
      ).items.filter((e) => e.involvedObject.kind === "Scone" && e.reason === "BackupCompleted");
      expect(events.some((e) => (e.message ?? "").includes("2 older than 1 days removed"))).toBe(true);
    },
    TIMEOUT,
  );

  test(
    "after the restart: every audit entry archived once with verified chains, across a CAS pod restart",
    async () => {
      await grow();
      const { log: firstLog, lines: firstLines } = await archivedCurrentLog(
        "the new pod to archive the log through its end",
      );
      await admin.delete({ apiVersion: "v1", kind: "Pod", namespace: NS, name: `${CAS_NAME}-0` });
      await waitFor(
        "the CAS pod's new log",
        async () => {
          const lines = await logLines().catch((): string[] => []);
          return lines.length >= 3 && signatureOf(lines[0] as string) !== firstLog;
        },
        150_000,
      );
      await grow();
      const { log: secondLog, lines: secondLines } = await archivedCurrentLog("the new log archived through its end");
      expect(secondLog).not.toBe(firstLog);

      // Every log the archive holds (the CAS pod may also have been replaced while it was provisioned).
      const listed = await listArchive(target, CAS_KEY);
      const logs = [...new Set(listed.map((s) => s.log))];
      expect(logs).toEqual(expect.arrayContaining([firstLog, secondLog]));
      for (const log of logs) {
        const c = coverageOf(listed, log);
        expect(c.shipped).toHaveLength(1);
        expect(c.shipped[0]?.first).toBe(0);
        expect(overlapsOf(listed, log)).toEqual([]);
      }
      const segments: ReadSegment[] = [];
      const read = await readArchive(target, CAS_KEY, (s) => {
        segments.push(s);
      });
      expect(read.problems).toEqual([]);
      // The two logs followed here were verified against the CAS while their pods ran. The pod provisioning replaced
      // lived seconds (attestation still failing): its log can have left before the operator's first check against
      // the CAS, and is then archived verified offline, with the Warning that no CAS vouched for its key. Named when
      // they fail (log, range, pod, verdict), so a CI log says which segment and why.
      const described = ({ manifest: m }: ReadSegment) => ({
        log: m.log.slice(0, 12),
        seqs: `${m.firstSeq}..${m.lastSeq}`,
        pod: m.pod,
        ...m.verification,
      });
      const followed = [firstLog, secondLog];
      const vouched = (s: ReadSegment) => s.manifest.verification.correct && s.manifest.verification.keyVouched;
      expect(segments.filter((s) => followed.includes(s.manifest.log) && !vouched(s)).map(described)).toEqual([]);
      const offline = segments.filter((s) => !followed.includes(s.manifest.log) && !vouched(s));
      expect(offline.filter((s) => !s.manifest.verification.correct).map(described)).toEqual([]);
      const warnings = (
        await admin.list<CoreV1Event>({ apiVersion: "v1", kind: "Event" }, { namespace: NS })
      ).items.filter((e) => e.involvedObject.name === CAS_NAME && e.reason === "AuditSegmentUnverified");
      for (const { manifest: m } of offline)
        expect(warnings.map((e) => e.message)).toContainEqual(
          expect.stringContaining(`audit log seq ${m.firstSeq}..${m.lastSeq} of pod ${m.pod.name} (gone)`),
        );
      const linesOf = (log: string) => segments.filter((s) => s.manifest.log === log).flatMap((s) => s.lines);
      // Every entry once, in order (seq i at position i); the two logs followed here as their pods had them.
      for (const log of logs) expect(linesOf(log).map(seqOf)).toEqual(linesOf(log).map((_, i) => i));
      expect(linesOf(firstLog).slice(0, firstLines.length)).toEqual(firstLines);
      expect(linesOf(secondLog).slice(0, secondLines.length)).toEqual(secondLines);

      // The same from a laptop: `scone cas audit --archive` rebuilds an empty index from the bucket, every entry once.
      const total = logs.reduce((n, log) => n + linesOf(log).length, 0);
      const audit = Bun.spawn(
        [
          BINARY,
          ...["cas", "audit", CAS_NAME, "-n", NS, "--event", "cas_started", "-o", "json"],
          ...["--archive", `s3://${BUCKET}/${PREFIX}`, "--state-dir", join(work, "laptop")],
        ],
        {
          env: {
            ...process.env,
            KUBECONFIG: "",
            AWS_ACCESS_KEY_ID: s3.accessKeyId,
            AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
            AWS_REGION: s3.region,
            AWS_ENDPOINT_URL: s3.endpoint,
          },
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      const [out, err, code] = await Promise.all([
        new Response(audit.stdout).text(),
        new Response(audit.stderr).text(),
        audit.exited,
      ]);
      expect(`${code}\n${err}`).toMatch(/^0\n/);
      expect(err).toContain(`index rebuilt from the archive in s3://${BUCKET}/${PREFIX}: ${total} entries`);
      const started = (JSON.parse(out) as { entries: { event: string }[] }).entries;
      expect(started.length).toBe(
        logs.flatMap((log) => linesOf(log)).filter((l) => l.includes('"event":"cas_started"')).length,
      );
    },
    TIMEOUT,
  );

  test(
    "`scone operator history` from outside shows the reconciles of the deleted pod beside the new pod's",
    async () => {
      const r = await scone(["operator", "history", "--kubeconfig", cluster.kubeconfigPath, "-o", "json"]);
      expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
      const rows = JSON.parse(r.stdout) as { kind: string; name: string; startedAt: number; by: string | null }[];
      const before = rows.filter((x) => x.startedAt < deletedAt);
      expect(before.some((x) => x.kind === "Scone" && x.name === STACK)).toBe(true);
      expect(before.some((x) => x.kind === "CAS" && x.name === CAS_NAME)).toBe(true);
      expect(before.some((x) => (x.by ?? "").startsWith(deletedPod))).toBe(true);
      expect(rows.some((x) => x.startedAt > deletedAt && !(x.by ?? "").startsWith(deletedPod))).toBe(true);
    },
    TIMEOUT,
  );

  test(
    "the stack's target switched to the operator's backup volume: after another restart the catalog lists its sets",
    async () => {
      const volume = openTarget(backupVolumeDir(NS));
      const last = await lastBackup();
      await admin.patch(SCONE_REF, { spec: { backup: { s3Creds: null } } }, "merge");
      await waitFor(
        "a backup in the operator's volume",
        async () => (await lastBackup()) > last && (await completeSets(volume)).length > 0,
        180_000,
      );
      const inVolume = await completeSets(volume);
      const lastBeforeRestart = await lastBackup();
      const [pod] = await readyOperatorPods(admin, NS, 1);
      await admin.delete({ apiVersion: "v1", kind: "Pod", namespace: NS, name: pod?.metadata?.name ?? "" });
      const next = await operatorPod(pod?.metadata?.name);
      const catalog = await waitFor(
        "the new pod's catalog filled from the volume",
        async () => {
          const ids = await podCatalog(next.metadata?.name ?? "").catch((): string[] => []);
          return inVolume.every((id) => ids.includes(id)) ? ids : undefined;
        },
        120_000,
      );
      expect(catalog).toEqual(expect.arrayContaining(inVolume));
      // Filled from the volume when the new pod started, not by a backup of its own (the next is due 60 s after the
      // last: retention after it would also bring the catalog in line with the listing).
      expect(await lastBackup()).toBe(lastBeforeRestart);
      // The bucket's sets stay where they are (nothing deleted them on the switch).
      expect((await completeSets(target)).length).toBeGreaterThan(0);
      await admin.get({ apiVersion: "apps/v1", kind: "Deployment", namespace: NS, name: DEPLOYMENT_NAME });
    },
    TIMEOUT,
  );
});
