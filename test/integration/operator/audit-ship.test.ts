// Audit-log shipping (issue 14) on the local cluster: a CAS pod on a KWOK node runs the CAS simulator (its audit
// container's log through the API server), the shipper verifies with the stand-in SCONE CLI and writes to the real
// S3 server. The shipper is stopped mid-way and a new one started (an operator restart: nothing survives but the
// archive), then the CAS pod is replaced (a new pod, a new log). The archive must hold every entry of both logs
// exactly once, each segment's digest and verdict correct, the logs verify with the CLI, and the index rebuilds
// from the archive (in-process and through `scone cas audit --archive`).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { type CasPodRuntime, startCasPodRuntime } from "../../../sim/kwok-cas/runtime.ts";
import { S3Credentials } from "../../../src/backup/s3-credentials.ts";
import { S3Target } from "../../../src/backup/s3-target.ts";
import { LocalCasDriverSource } from "../../../src/cas/driver/local-source.ts";
import { listArchive, type ReadSegment, readArchive } from "../../../src/flows/audit/archive/archive.ts";
import { coverageOf, overlapsOf } from "../../../src/flows/audit/archive/plan.ts";
import { rebuildAuditIndex } from "../../../src/flows/audit/archive/rebuild.ts";
import { searchAuditIndex } from "../../../src/flows/audit/flow.ts";
import { verifyAuditText } from "../../../src/flows/audit/verify.ts";
import { KubeClient } from "../../../src/kube/client.ts";
import { type ClusterConnection, loadKubeConfig } from "../../../src/kube/config.ts";
import { clientListWatch, Informer } from "../../../src/kube/informer.ts";
import { startPortForward } from "../../../src/kube/port-forward.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { createLogger } from "../../../src/log.ts";
import { AUDIT_SHIPPING_METRICS } from "../../../src/metrics/catalog.ts";
import { MetricsRegistry } from "../../../src/metrics/registry.ts";
import { AuditShipper, type AuditShipperOptions } from "../../../src/operator/audit/shipper.ts";
import { openStore } from "../../../src/store/open.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { waitFor } from "../../harness/kube.ts";
import { sharedS3 } from "../../harness/s3.ts";
import { STAND_IN_CLI } from "../../harness/stand-in-world.ts";

const NS = `scone-audit-ship-${Math.random().toString(36).slice(2, 8)}`;
const NAME = "cas";
const POD = `${NAME}-0`;
const BUCKET = "scone-audit-ship-it";
const PREFIX = "scone-backups";
const TIMEOUT = 300_000;
const CAS = { namespace: NS, name: NAME };
const CAS_OBJECT: KubeObject = {
  apiVersion: "services.scone.cloud/v1beta1",
  kind: "CAS",
  metadata: { namespace: NS, name: NAME, uid: "audit-ship-test" },
};

/** A CAS pod as src/operator/cas/render.ts shapes it (containers cas and audit), its volumes emptyDirs. */
function casPod() {
  const image = "registry.scontain.com/scone.cloud/cas:6.0.6";
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: POD,
      namespace: NS,
      labels: { "app.kubernetes.io/name": "cas", "app.kubernetes.io/instance": NAME },
    },
    spec: {
      nodeName: "sgx-node-1",
      containers: [
        {
          name: "cas",
          image,
          ports: [
            { name: "client", containerPort: 8081 },
            { name: "enclave", containerPort: 18765 },
          ],
          volumeMounts: [
            { name: "database", mountPath: "/etc/cas/db" },
            { name: "audit-log", mountPath: "/var/log/cas/audit" },
          ],
        },
        {
          name: "audit",
          image,
          command: ["tail", "-n", "+1", "-F", "/var/log/cas/audit/cas_audit.log"],
          volumeMounts: [{ name: "audit-log", mountPath: "/var/log/cas/audit", readOnly: true }],
        },
      ],
      volumes: [
        { name: "database", emptyDir: {} },
        { name: "audit-log", emptyDir: {} },
      ],
    },
  };
}

const seqOf = (line: string) => (JSON.parse(line) as { seq: number }).seq;
const signatureOf = (line: string) => (JSON.parse(line) as { signature: string }).signature;

describe.skipIf(!clusterAvailable())("audit-log shipping to S3 across shipper and CAS pod restarts", () => {
  let cluster: LocalCluster;
  let client: KubeClient;
  let conn: ClusterConnection;
  let runtime: CasPodRuntime;
  let credentials: S3Credentials;
  let target: S3Target;
  let source: LocalCasDriverSource;
  let s3env: Record<string, string>;
  const root = mkdtempSync(join(tmpdir(), "scone-audit-ship-it-"));
  const shippers: AuditShipper[] = [];
  let podCache: Informer<KubeObject> | undefined;

  const logLines = async (): Promise<string[]> =>
    (await client.podLogs({ namespace: NS, name: POD }, { container: "audit" }))
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.startsWith("{"));

  /** restart-cas in the pod: the simulator logs cas_exited, an attestation report and cas_started (3 entries). */
  const grow = async () => {
    const before = (await logLines()).length;
    const r = await cluster.kubectl(["-n", NS, "exec", POD, "-c", "cas", "--", "bash", "restart-cas"]);
    if (r.code !== 0) throw new Error(`restart-cas: ${r.stderr}`);
    await waitFor("three more entries in the audit log", async () => (await logLines()).length >= before + 3, 90_000);
  };

  /** Deletes the CAS pod and creates it again; returns when the new pod's log (not `oldLog`) has begun. */
  const replacePod = async (oldLog: string) => {
    await client.deleteIfExists({ apiVersion: "v1", kind: "Pod", namespace: NS, name: POD });
    await waitFor(
      "the old pod to be gone",
      async () => (await client.tryGet({ apiVersion: "v1", kind: "Pod", namespace: NS, name: POD })) === undefined,
      120_000,
    );
    await client.create(casPod());
    await runtime.waitForPod(`${NS}/${POD}`, 120_000);
    await waitFor(
      "the new pod's log",
      async () => {
        const lines = await logLines();
        return lines.length >= 3 && signatureOf(lines[0] as string) !== oldLog;
      },
      90_000,
    );
  };

  const archived = async () => {
    const segments: ReadSegment[] = [];
    const read = await readArchive(target, CAS, (s) => {
      segments.push(s);
    });
    return { segments, problems: read.problems };
  };

  /** The archive holds this log through its seq `last`. */
  const archivedThrough = async (log: string, last: number) =>
    coverageOf(await listArchive(target, CAS), log).through >= last;

  /** Events the shippers recorded (type, reason, message). */
  const events: { type: string; reason: string; message: string }[] = [];

  const newShipper = (stateDir: string, pods?: AuditShipperOptions["pods"], wholeLogBytes?: number) => {
    const s = new AuditShipper({
      kube: client,
      ...(pods ? { pods } : {}),
      casList: () => [CAS_OBJECT],
      target: async () => target,
      source,
      metrics: new MetricsRegistry(),
      events: { record: (_o, type, reason, message) => events.push({ type, reason, message }) },
      log: createLogger({ level: "warn", sink: process.stderr, component: "audit-ship-test" }),
      store: openStore({ stateDir }),
      policy: { maxEntries: 4, maxBytes: 1 << 20, maxAgeMs: 300 },
      syncMs: 200,
      retryMs: 500,
      podCheckMs: 300,
      ...(wholeLogBytes !== undefined ? { wholeLogBytes } : {}),
    });
    shippers.push(s);
    s.start();
    return s;
  };

  beforeAll(async () => {
    cluster = await sharedCluster();
    client = await KubeClient.load({ kubeconfig: cluster.kubeconfigPath });
    conn = await loadKubeConfig({ kubeconfig: cluster.kubeconfigPath });
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    runtime = await startCasPodRuntime({
      kubeconfig: cluster.kubeconfigPath,
      stateDir: join(root, "kwok-cas"),
      log: () => {},
    });
    await client.create(casPod());
    await runtime.waitForPod(`${NS}/${POD}`, 120_000);
    await waitFor("the CAS's start-up entries in the audit log", async () => (await logLines()).length >= 3, 90_000);
    const s3 = await sharedS3();
    await s3.bucket(BUCKET);
    credentials = new S3Credentials(
      { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: s3.region, endpoint: s3.endpoint },
      "test",
    );
    s3env = {
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
      AWS_ENDPOINT_URL: s3.endpoint,
    };
    target = new S3Target(BUCKET, PREFIX, credentials);
    source = new LocalCasDriverSource({
      binary: STAND_IN_CLI,
      stateDir: join(root, "cli"),
      timeoutMs: 30_000,
      portForward: (o) => startPortForward(conn, o),
    });
  }, TIMEOUT);

  afterAll(async () => {
    for (const s of shippers) await s.stop().catch(() => {});
    await podCache?.stop().catch(() => {});
    await client?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: NS }).catch(() => {});
    await runtime?.stop().catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }, 120_000);

  test(
    "every entry of both logs archived exactly once, verified, after a shipper restart and a CAS pod restart",
    async () => {
      const firstLog = signatureOf((await logLines())[0] as string);

      // Shipper A ships the start-up entries and one restart's, then stops (an operator restart) while the log grows.
      const a = newShipper(join(root, "state-a"));
      await grow();
      await waitFor(
        "shipper A to archive the log so far",
        async () => archivedThrough(firstLog, (await logLines()).length - 1),
        120_000,
      );
      await grow();
      await a.stop();
      await grow(); // written while no shipper runs: still in the pod's log

      // Shipper B (no state of A's) resumes from the archive. It reads the CAS pod from an informer, as the operator
      // does (controllers.ts): the pod's replacement below reaches it through the watch, not a GET per look.
      podCache = new Informer<KubeObject>(
        clientListWatch(client, { type: { apiVersion: "v1", kind: "Pod" }, namespace: NS }),
        { name: "audit-ship-test-pods" },
      );
      podCache.start();
      await podCache.waitForSync();
      const cache = podCache;
      const b = newShipper(join(root, "state-b"), (ns, name) => cache.get(ns, name) as V1Pod | undefined);
      await waitFor(
        "shipper B to archive the log through its end",
        async () => archivedThrough(firstLog, (await logLines()).length - 1),
        120_000,
      );
      expect(b.conditionOf(NS, NAME)).toMatchObject({ type: "AuditShipped", status: "True", reason: "Shipped" });

      // The CAS pod is replaced: its log goes with it (emptyDir), the new pod starts a new one.
      const firstLines = await logLines();
      await replacePod(firstLog);
      await grow();
      const secondLines = await logLines();
      const secondLog = signatureOf(secondLines[0] as string);
      await waitFor(
        "shipper B to archive the new log through its end",
        async () => archivedThrough(secondLog, secondLines.length - 1),
        120_000,
      );
      await b.stop();
      // The first log was followed to its end: on record as complete, and no gap was reported.
      const firstEnd = await target.get(`_audit/${NS}/${NAME}/${firstLog}.end.json`, 4096);
      expect(JSON.parse(new TextDecoder().decode(firstEnd as Uint8Array))).toMatchObject({ complete: true });
      expect(events.filter((e) => e.reason === "AuditLogGap")).toEqual([]);
      const metrics = (b as unknown as { o: { metrics: MetricsRegistry } }).o.metrics.render();
      expect(metrics).toContain(`${AUDIT_SHIPPING_METRICS.entries.name}{cr_name="${NAME}",cr_namespace="${NS}"}`);

      // The archive: two logs, each shipped from seq 0 without a gap, no segment twice, no half-written segment.
      const listed = await listArchive(target, CAS);
      expect(new Set(listed.map((s) => s.log))).toEqual(new Set([firstLog, secondLog]));
      for (const log of [firstLog, secondLog]) {
        const c = coverageOf(listed, log);
        expect(c.incomplete).toEqual([]);
        expect(c.shipped).toHaveLength(1);
        expect(c.shipped[0]?.first).toBe(0);
        expect(overlapsOf(listed, log)).toEqual([]);
      }
      const { segments, problems } = await archived();
      expect(problems).toEqual([]);
      // Every verdict correct, and every key one the CAS vouched for (the old log's tail, verified offline after its
      // pod went, continues segments the CAS verified).
      expect(segments.every((s) => s.manifest.verification.correct && s.manifest.verification.keyVouched)).toBe(true);
      const linesOf = (log: string) => segments.filter((s) => s.manifest.log === log).flatMap((s) => s.lines);
      const first = linesOf(firstLog);
      const second = linesOf(secondLog);
      // Every entry once, in order: seq i at position i.
      for (const lines of [first, second]) expect(lines.map(seqOf)).toEqual(lines.map((_, i) => i));
      // The first log as the pod had it (and possibly its last words, written while the pod was deleted).
      expect(first.slice(0, firstLines.length)).toEqual(firstLines);
      expect(second.slice(0, secondLines.length)).toEqual(secondLines);

      // The SCONE CLI's verdict on the archived logs: the old one offline (its CAS moved on), the new one against CAS.
      const old = await verifyAuditText(source, CAS, `${first.join("\n")}\n`, undefined, "log-key");
      expect(old, old.details).toMatchObject({ exitCode: 0, correct: true });
      const current = await verifyAuditText(source, CAS, `${second.join("\n")}\n`);
      expect(current, current.details).toMatchObject({ exitCode: 0, correct: true });

      // The index, missing, rebuilt from the archive: every entry once.
      const fresh = openStore({ stateDir: join(root, "state-fresh") });
      try {
        const rebuilt = await rebuildAuditIndex(fresh.db, target, CAS);
        expect(rebuilt).toMatchObject({ entries: first.length + second.length, problems: [] });
        const started = searchAuditIndex(fresh.db, { ...CAS, event: "cas_started", limit: 100 });
        expect(started.entries.length).toBe(
          [...first, ...second].filter((l) => l.includes('"event":"cas_started"')).length,
        );
      } finally {
        fresh.close();
      }

      // The same from a laptop: `scone cas audit --archive s3://…` rebuilds its empty index, then searches it.
      const proc = Bun.spawn(
        [
          process.execPath,
          join(import.meta.dir, "../../../src/main.ts"),
          ...["cas", "audit", NAME, "-n", NS, "--event", "cas_started", "-o", "json"],
          ...["--archive", `s3://${BUCKET}/${PREFIX}`, "--state-dir", join(root, "laptop")],
        ],
        { env: { ...process.env, ...s3env }, stdout: "pipe", stderr: "pipe" },
      );
      const [out, err, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      expect(code, err).toBe(0);
      expect(err).toContain(
        `index rebuilt from the archive in s3://${BUCKET}/${PREFIX}: ${first.length + second.length} entries`,
      );
      const page = JSON.parse(out) as { entries: { event: string }[] };
      expect(page.entries.length).toBeGreaterThanOrEqual(3);
      expect(page.entries.every((e) => e.event === "cas_started")).toBe(true);
    },
    TIMEOUT * 2,
  );
  test(
    "a CAS pod replaced while no shipper runs: the next shipper reports the lost range (Event, condition, record)",
    async () => {
      const lines = await logLines();
      const log = signatureOf(lines[0] as string);
      const c = newShipper(join(root, "state-c"));
      await waitFor("shipper C to archive the log", async () => archivedThrough(log, lines.length - 1), 120_000);
      await c.stop();
      // Written while no shipper runs, then gone with the pod: not recoverable.
      await grow();
      await replacePod(log);
      const next = signatureOf((await logLines())[0] as string);
      const d = newShipper(join(root, "state-d"));
      await waitFor("shipper D to archive the new log", async () => archivedThrough(next, 2), 120_000);
      const through = coverageOf(await listArchive(target, CAS), log).through;
      expect(through).toBe(lines.length - 1);
      await waitFor(
        "the AuditLogGap Event",
        async () => events.some((e) => e.reason === "AuditLogGap" && e.type === "Warning"),
        30_000,
      );
      const gap = events.find((e) => e.reason === "AuditLogGap");
      expect(gap?.message).toContain(`archived through seq ${through}`);
      expect(gap?.message).toContain(`entries from seq ${through + 1} to its end, if it had any, are lost`);
      expect(d.conditionOf(NS, NAME)?.message).toContain(`entries from seq ${through + 1}`);
      const record = await target.get(`_audit/${NS}/${NAME}/${log}.end.json`, 4096);
      expect(JSON.parse(new TextDecoder().decode(record as Uint8Array))).toMatchObject({
        complete: false,
        lastSeq: through,
      });
      await d.stop();
    },
    TIMEOUT * 2,
  );
  test(
    "past the whole-log bound, windows: the SCONE CLI (stand-in) answers 15 against the CAS and the link holds",
    async () => {
      const lines = await logLines();
      const log = signatureOf(lines[0] as string);
      // A bound of one byte: every verification is a window from the archived entry before its segment.
      const e = newShipper(join(root, "state-e"), undefined, 1);
      await grow();
      const grown = await logLines();
      await waitFor("shipper E to archive the log", async () => archivedThrough(log, grown.length - 1), 120_000);
      await e.stop();
      const { segments, problems } = await archived();
      expect(problems).toEqual([]);
      const windows = segments.filter((s) => s.manifest.log === log && (s.manifest.verification.from ?? 0) > 0);
      expect(windows.length).toBeGreaterThan(0);
      for (const w of windows) {
        expect(w.manifest.verification).toMatchObject({ against: "cas", exitCode: 15, correct: true });
        expect(w.manifest.verification.from).toBe(w.manifest.firstSeq - 1);
      }
      // The log as archived is the log as the pod has it, and the CLI accepts it whole.
      const all = segments.filter((s) => s.manifest.log === log).flatMap((s) => s.lines);
      expect(all.slice(0, grown.length)).toEqual(grown);
      const whole = await verifyAuditText(source, CAS, `${all.join("\n")}\n`);
      expect(whole, whole.details).toMatchObject({ exitCode: 0, correct: true });
    },
    TIMEOUT,
  );
});
