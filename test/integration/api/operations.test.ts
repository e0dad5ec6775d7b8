// The REST API runs the CAS flows as long-running operations, end to end with the COMPILED `scone api` as a process:
// the local cluster (KWOK nodes), CAS pods backed by the CAS simulator (sim/kwok-cas), and the operator's CAS
// controller in this process (reaching each CAS through a port-forward). Over HTTP: provision → 202 + Location →
// succeeded and HEALTHY; backup → succeeded and in GET /api/v1/backups; a read token gets 403. The restart case: a
// second provisioning is SIGKILLed twice while it runs (held in the pod wait by a missing volume, then in the HEALTHY
// wait by missing backup registrations); each new API process resumes it, and it completes with every step recorded
// once and the simulator's audit log showing one provisioning and one creation per session.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { type CasPodRuntime, startCasPodRuntime } from "../../../sim/kwok-cas/runtime.ts";
import { isHealthy } from "../../../src/flows/status/health.ts";
import { KubeClient } from "../../../src/kube/client.ts";
import type { PortForward } from "../../../src/kube/port-forward.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import type { CAS } from "../../../src/resources/cas.ts";
import { DB_FILE } from "../../../src/store/open.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import {
  casClaims,
  prepareCasNodesAndVolumes,
  RESTORED_AS_EXPECTED,
  registerBackups,
  restoredFacts,
  startBackupControllerPlayer,
  zoneAVolume,
} from "../../harness/day2.ts";
import {
  BINARY,
  backupPolicyUpdates,
  binaryPresent,
  buildStandInCli,
  casNamespaceCleanup,
  freePort,
  NEW_BACKUP_CLI_MRENCLAVE,
  scone,
  simAuditEntries,
  waitForSnapshotAfterChange,
} from "../../harness/flows.ts";
import { waitFor } from "../../harness/kube.ts";
import {
  buildOperatorContext,
  cleanupSteps,
  installCrds,
  registerCasOverPortForwards,
  type TestOperator,
} from "../../harness/operator.ts";

const NS = `scone-apiops-${Math.random().toString(36).slice(2, 8)}`;
const NAME = "cas";
const RESUMED = "cas2";
const RESTORED = "restored";
const DCAP_SECRET = { name: "dcap", key: "apiKey" };
// Only in the Secret: the test looks for it where it must not be (the store, the API's answers).
const DCAP_VALUE = "feedc0defeedc0defeedc0defeedc0de";
const MANAGER = "scone-api-ops-test";
const TIMEOUT = 300_000;

interface Operation {
  id: string;
  kind: string;
  phase: "pending" | "running" | "succeeded" | "failed";
  currentStep: string | null;
  stepsDone: string[];
  params: Record<string, unknown>;
  error: string | null;
  result: Record<string, unknown> | null;
}

interface ApiProcess {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  readonly url: string;
  log: string;
  /** Resolves once stdout and stderr are read to their end (the process exited and its pipes closed). */
  drained: Promise<unknown>;
}

describe.skipIf(!clusterAvailable() || !binaryPresent)("scone api operations (compiled) on the KWOK cluster", () => {
  let cluster: LocalCluster;
  let op: TestOperator;
  let client: KubeClient;
  let runtime: CasPodRuntime;
  let api: ApiProcess | undefined;
  const apiLogs: string[] = [];
  const forwards = new Map<string, PortForward>();
  const root = mkdtempSync(join(tmpdir(), "scone-api-ops-it-"));
  const stateDir = join(root, "state");
  const sconeCli = join(root, "scone-cli-sim");
  const tokens = { operate: "", read: "" };
  const figures: string[] = [];

  const casRef = (name: string) => ({ apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", namespace: NS, name });
  const getCas = (name: string) => client.tryGet<CAS>(casRef(name));

  async function startApi(): Promise<ApiProcess> {
    const port = await freePort();
    const proc = Bun.spawn(
      [
        BINARY,
        "api",
        "--port",
        String(port),
        "--state-dir",
        stateDir,
        "--kubeconfig",
        cluster.kubeconfigPath,
        "--log-level",
        "info",
        // The CAS driver: the compiled stand-in SCONE CLI over a port-forward (KWOK runs no sconecli pod).
        "--scone-cli",
        sconeCli,
      ],
      { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, KUBECONFIG: "", NO_COLOR: "1" } },
    );
    const started: ApiProcess = { proc, url: `http://127.0.0.1:${port}`, log: "", drained: Promise.resolve() };
    started.drained = Promise.all(
      [proc.stdout, proc.stderr].map(async (stream) => {
        for await (const chunk of stream.pipeThrough(new TextDecoderStream())) started.log += chunk;
      }),
    ).catch(() => undefined);
    await waitFor(
      "scone api to answer /healthz",
      async () => {
        if (proc.exitCode !== null) throw new Error(`scone api exited ${proc.exitCode}: ${started.log}`);
        return (await fetch(`${started.url}/healthz`).catch(() => undefined))?.ok;
      },
      60_000,
    );
    return started;
  }

  async function killApi(): Promise<void> {
    if (!api) return;
    api.proc.kill("SIGKILL");
    await api.proc.exited;
    // Exited is not read: what it wrote last may still be in the pipes (bounded, should a child hold them open).
    await Promise.race([api.drained, Bun.sleep(10_000)]);
    apiLogs.push(api.log);
    api = undefined;
  }

  function call(method: string, path: string, token: string, body?: unknown): Promise<Response> {
    if (!api) throw new Error("the API is not running");
    return fetch(`${api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  async function getOperation(id: string): Promise<Operation> {
    const res = await call("GET", `/api/v1/operations/${id}`, tokens.read);
    if (res.status !== 200) throw new Error(`GET operation ${id}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Operation;
  }

  /** Polls the operation until `until` holds; fails at once when it failed. */
  async function pollOperation(id: string, until: (o: Operation) => boolean): Promise<Operation> {
    let last: Operation | undefined;
    return waitFor(
      `operation ${id}`,
      async () => {
        const o = await getOperation(id);
        last = o;
        if (o.phase === "failed" && !until(o)) throw new Error(`operation ${id} failed: ${o.error}`);
        return until(o) ? o : undefined;
      },
      Number(process.env.SCONE_TEST_OP_TIMEOUT_MS ?? TIMEOUT),
    ).catch(async (err: unknown) => {
      const cas = await Promise.all([NAME, RESUMED].map(async (n) => (await getCas(n).catch(() => undefined))?.status));
      const seen = `${JSON.stringify(last)}\nCAS status: ${JSON.stringify(cas)}`;
      throw new Error(
        `${err instanceof Error ? err.message : String(err)}: ${seen}\nAPI log:\n${api?.log.slice(-6000)}`,
      );
    });
  }

  /** POSTs an operation; answers the Location and the operation's id. */
  async function post(body: unknown): Promise<{ location: string; id: string }> {
    const res = await call("POST", "/api/v1/operations", tokens.operate, body);
    if (res.status !== 202) throw new Error(`POST: ${res.status} ${await res.text()}`);
    const created = (await res.json()) as Operation;
    const location = res.headers.get("location") ?? "";
    expect(location).toBe(`/api/v1/operations/${created.id}`);
    return { location, id: created.id };
  }

  /** The operator's CAS controller in this process, reaching each CAS through a port-forward. */
  async function startOperator(): Promise<void> {
    // Fresh port-forwards: one made while a pod was still Pending does not recover.
    for (const f of forwards.values()) await f.close();
    forwards.clear();
    op = await buildOperatorContext({ kubeconfigPath: cluster.kubeconfigPath });
    await registerCasOverPortForwards(op, cluster.kubeconfigPath, forwards);
    await op.start();
  }

  async function tokenFor(name: string, scope: string): Promise<string> {
    const out = await scone(["api", "token", "create", name, "--scope", scope, "--state-dir", stateDir]);
    if (out.code !== 0) throw new Error(`token create: ${out.stderr}`);
    return out.stdout.trim();
  }

  beforeAll(async () => {
    await buildStandInCli(sconeCli);
    cluster = await sharedCluster();
    client = await KubeClient.load({ kubeconfig: cluster.kubeconfigPath });
    await installCrds(client);
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await client.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: DCAP_SECRET.name, namespace: NS },
      stringData: { [DCAP_SECRET.key]: DCAP_VALUE },
    } as KubeObject);
    // Volumes for the first CAS and the restored one: the second one's pod waits for its volumes until the restart
    // test adds them.
    await prepareCasNodesAndVolumes(client, NS, [NAME, RESTORED]);
    // What the backup controller records on every SGX node (the CAS simulator records it too).
    await registerBackups(client, NS, NAME);
    await registerBackups(client, NS, RESTORED);
    runtime = await startCasPodRuntime({
      kubeconfig: cluster.kubeconfigPath,
      stateDir: join(root, "kwok-cas"),
      // The volumes are the test's: the second CAS's pod must wait for them until the restart test adds them (a
      // volume the runtime made at once would let that provisioning run on past the point the first kill aims at).
      provisionVolumes: false,
      log: () => {},
    });
    await startOperator();
    tokens.operate = await tokenFor("ops-test", "operate");
    tokens.read = await tokenFor("reader", "read");
    api = await startApi();
  }, TIMEOUT);

  afterAll(async () => {
    // Each step on its own: one that throws must not leave the nodes labelled or the runtime running for later files.
    await cleanupSteps([
      () => killApi(),
      () => {
        if (process.env.SCONE_TEST_SHOW) console.error(apiLogs.join("\n----\n").slice(-30_000));
        if (figures.length > 0) console.error(figures.join("\n"));
      },
      () => op?.stop(),
      ...[...forwards.values()].map((f) => () => f.close()),
      () => runtime?.stop(),
      ...casNamespaceCleanup(client, NS, [NAME, RESUMED, RESTORED]),
      () => rmSync(root, { recursive: true, force: true }),
    ]);
  }, 120_000);

  test("a read token gets 403 on POST; bad params are 400 naming the field", async () => {
    const body = { kind: "provision", namespace: NS, name: NAME, params: {} };
    const forbidden = await call("POST", "/api/v1/operations", tokens.read, body);
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { detail: string }).detail).toContain("operate");
    const badFrom = await call("POST", "/api/v1/operations", tokens.operate, {
      kind: "restore",
      namespace: NS,
      name: "restored",
      params: { from: "/etc" },
    });
    expect(badFrom.status).toBe(400);
    const problem = (await badFrom.json()) as { errors?: { field: string }[] };
    expect(problem.errors?.map((e) => e.field)).toEqual(["body.params.from"]);
    expect(await getCas(NAME)).toBeUndefined();
  });

  let firstSteps: string[] = [];
  let backupId = "";

  test(
    "POST provision → 202 + Location → succeeded; the CAS is HEALTHY; the DCAP key stays out of the store",
    async () => {
      const t0 = performance.now();
      const { id } = await post({
        kind: "provision",
        namespace: NS,
        name: NAME,
        params: { dcapKeyRef: DCAP_SECRET },
      });
      const done = await pollOperation(id, (o) => o.phase === "succeeded");
      figures.push(`provision operation: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      expect(done.result?.casKey).toBeString();
      expect(done.currentStep).toBeNull();
      expect(done.stepsDone).toContain("provision");
      // wait-healthy only observes (the flow runs it on every resume): not a recorded step.
      expect(done.stepsDone.at(-1)).toBe("enable-features");
      firstSteps = done.stepsDone;
      expect((await getCas(NAME))?.status).toMatchObject({ phase: "HEALTHY", provisioned: "Yes" });
      // The owner identity lives in the server's directory for this CAS, private.
      const identity = join(stateDir, "cas-owners", NS, NAME, "identity", "config.json");
      expect((statSync(identity).mode & 0o777).toString(8)).toBe("600");
      // The key was read from the Secret at run time: not in the params, not in the database.
      expect(JSON.stringify(done)).not.toContain(DCAP_VALUE);
      // WAL mode: the latest writes are in the -wal file until a checkpoint, so both files are searched.
      const storeFiles = [DB_FILE, `${DB_FILE}-wal`].map((f) => join(stateDir, f)).filter((f) => existsSync(f));
      expect(storeFiles).toContain(join(stateDir, DB_FILE));
      for (const file of storeFiles)
        expect(`${file}: ${readFileSync(file).includes(DCAP_VALUE)}`).toBe(`${file}: false`);
    },
    TIMEOUT,
  );

  test(
    "POST backup → succeeded; the backup is listed in GET /api/v1/backups",
    async () => {
      // Snapshots every 2 s instead of upstream's 24 h, so there is one to back up. The change replaces the pod:
      // the backup starts once the new pod is HEALTHY and has taken a snapshot (a slow provisioning may have left
      // one from before the change, which the status keeps).
      const before = (await getCas(NAME))?.status?.snapshotTimestamp;
      await client.patch(casRef(NAME), { spec: { databaseSnapshots: { interval: "2s" } } }, "merge", {
        fieldManager: MANAGER,
      });
      await waitForSnapshotAfterChange(client, casRef(NAME), before, TIMEOUT);
      const t0 = performance.now();
      const { id } = await post({ kind: "backup", namespace: NS, name: NAME });
      const done = await pollOperation(id, (o) => o.phase === "succeeded");
      figures.push(`backup operation: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      expect(done.stepsDone).toEqual(["backup"]);
      backupId = String(done.result?.backupId);
      expect(backupId).toStartWith("bk-");
      expect(done.result?.target).toStartWith(join(stateDir, "backups"));
      const res = await call("GET", `/api/v1/backups?namespace=${NS}&name=${NAME}`, tokens.read);
      const { items } = (await res.json()) as { items: { id: string; phase: string }[] };
      expect(items.find((b) => b.id === backupId)?.phase).toBe("completed");
    },
    TIMEOUT,
  );

  test(
    "POST restore from the backup's catalog id → succeeded: a new CAS with the original's identity",
    async () => {
      const t0 = performance.now();
      const { id } = await post({ kind: "restore", namespace: NS, name: RESTORED, params: { from: backupId } });
      const done = await pollOperation(id, (o) => o.phase === "succeeded");
      figures.push(`restore operation: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      expect(done.result).toEqual({ backupId });
      expect(done.stepsDone).toEqual([
        "fetch-verify",
        "check-target",
        "create-cas",
        "wait-pod",
        "place-snapshot",
        "restart-cas",
        "backup-controller",
        "cas-image",
        "wait-healthy",
      ]);
      expect(await restoredFacts(client, NS, RESTORED, NAME)).toEqual(RESTORED_AS_EXPECTED);
    },
    TIMEOUT,
  );

  test(
    "POST evict → succeeded: CAS HEALTHY on the other zone-a node, the node uncordoned",
    async () => {
      const t0 = performance.now();
      const { id } = await post({ kind: "evict", namespace: NS, name: NAME });
      const done = await pollOperation(id, (o) => o.phase === "succeeded");
      figures.push(`evict operation: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      expect(done.stepsDone).toEqual(["plan", "mark", "cordon", "delete-pod", "wait-healthy", "uncordon", "unmark"]);
      const from = String(done.result?.from);
      expect(["sgx-node-1", "sgx-node-2"]).toContain(from);
      expect(done.result?.to).toBe(from === "sgx-node-1" ? "sgx-node-2" : "sgx-node-1");
      const node = await client.get<KubeObject & { spec?: { unschedulable?: boolean } }>({
        apiVersion: "v1",
        kind: "Node",
        name: from,
      });
      expect(node.spec?.unschedulable).toBeFalsy();
      // The operation's HEALTHY may still be the status of the pod that left (a reconcile of the new one can follow).
      const cas = await waitFor("HEALTHY after the move", async () => {
        const c = await getCas(NAME);
        return isHealthy(c) ? c : undefined;
      });
      expect(cas.status?.phase).toBe("HEALTHY");
    },
    TIMEOUT,
  );

  test(
    "POST upgrade with backupMrenclave → succeeded: the backup policy admits the new CLI, HEALTHY on 6.0.7",
    async () => {
      const newCli = NEW_BACKUP_CLI_MRENCLAVE;
      const policyUpdates = () => backupPolicyUpdates(join(root, "kwok-cas"), NS, `${NAME}-0`);
      const updatesBefore = policyUpdates();
      const player = startBackupControllerPlayer(client, NS, NAME);
      try {
        const t0 = performance.now();
        const { id } = await post({
          kind: "upgrade",
          namespace: NS,
          name: NAME,
          params: { to: "6.0.7", backupMrenclave: newCli },
        });
        const done = await pollOperation(id, (o) => o.phase === "succeeded");
        figures.push(`upgrade operation: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        expect(done.stepsDone).toEqual([
          "preconditions",
          "backup-controller-session",
          "backup-policy",
          "backup-controller-image",
          "wait-migration",
          "cas-image",
          "wait-healthy",
        ]);
        expect(done.result).toMatchObject({ from: "6.0.6", to: "6.0.7" });
      } finally {
        await player.stop();
      }
      // The owner identity the provision operation kept in the state directory updated the policy, once.
      expect(policyUpdates()).toBe(updatesBefore + 1);
      const cas = await waitFor("HEALTHY on 6.0.7", async () => {
        const c = await getCas(NAME);
        return isHealthy(c) && c?.status?.version === "6.0.7" ? c : undefined;
      });
      expect(cas.spec?.image).toEndWith("/cas:6.0.7");
    },
    TIMEOUT,
  );

  test(
    "restart: a provisioning SIGKILLed twice while it runs is resumed by the next API process, nothing repeated",
    async () => {
      const t0 = performance.now();
      const { id } = await post({ kind: "provision", namespace: NS, name: RESUMED, params: {} });

      // Kill 1: the CAS exists and its pod waits for a volume, so the operation is running after create-cas.
      const held = await pollOperation(id, (o) => o.stepsDone.includes("create-cas"));
      expect(held.phase).toBe("running");
      await waitFor(
        "pod cas2-0 created (Pending)",
        () => client.tryGet({ apiVersion: "v1", kind: "Pod", namespace: NS, name: `${RESUMED}-0` }),
        TIMEOUT,
      );
      await killApi();
      // Without the operator nobody turns the CAS HEALTHY: the operation provisions, creates the sessions, enables
      // the features and then waits (its last, observing step), holding still for kill 2.
      await op.stop();
      api = await startApi();
      const afterKill1 = await getOperation(id);
      expect(afterKill1.stepsDone.slice(0, held.stepsDone.length)).toEqual(held.stepsDone);
      for (const claim of casClaims(RESUMED)) await client.create(zoneAVolume(NS, claim));

      // Kill 2: provisioned, sessions created, features enabled, waiting for HEALTHY (which needs the operator and
      // this CAS's backup registrations, both given only after the kill).
      const waiting = await pollOperation(id, (o) => o.stepsDone.includes("enable-features"));
      expect(waiting.phase).toBe("running");
      expect(waiting.stepsDone).toContain("provision");
      await killApi();
      await startOperator();
      await registerBackups(client, NS, RESUMED);
      api = await startApi();

      const done = await pollOperation(id, (o) => o.phase === "succeeded");
      figures.push(`provision operation with two API restarts: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      // The same steps as the uninterrupted provisioning, each recorded once, in order.
      expect(done.stepsDone).toEqual(firstSteps);
      expect((await getCas(RESUMED))?.status).toMatchObject({ phase: "HEALTHY", provisioned: "Yes" });
      // Each later process picked the operation up (the running one's log is read as it goes: awaited, not sampled).
      expect(apiLogs.at(-1)).toContain("resuming operation");
      await waitFor("the resume in the running API's log", () => api?.log.includes("resuming operation"), 30_000);

      // The simulator's audit log: one provisioning, one creation per owner session, whatever the kills hit.
      // Read from the simulator's audit files of every pod NAME-0 had (enable-features replaces the pod; the audit
      // volume is per pod), not from the audit container, which only tails them.
      const audit = simAuditEntries(join(root, "kwok-cas"), NS, `${RESUMED}-0`);
      expect(audit.filter((e) => e.event === "provisioned").length).toBe(1);
      expect(
        audit
          .filter((e) => e.event === "session_created")
          .map((e) => e.details?.session)
          .sort(),
      ).toEqual(["cas-owner", "cas-owner/primary-backup", "provisioned"]);
    },
    TIMEOUT * 2,
  );
});
