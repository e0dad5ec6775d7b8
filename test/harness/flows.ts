// Shared by the install, RBAC and CAS flow integration tests: the compiled binary, a free port, the admission
// webhooks a locally run operator would serve (KWOK runs no operator pod), removal of what an install made outside
// its namespace (ClusterRole and binding, webhook configurations, LAS, SGXPlugin; CRDs stay: other tests use them),
// the CAS simulator's audit records, the wait for a snapshot taken after a spec change, and the fixture of the CAS flow
// tests (a cluster with the CAS controller and simulated CAS pods; the compiled kubectl-provision plugin).

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { type CasPodRuntime, podInstancesDir, startCasPodRuntime } from "../../sim/kwok-cas/runtime.ts";
import { isHealthy } from "../../src/flows/status/health.ts";
import { renderInstallManifests } from "../../src/install/manifests.ts";
import type { KubeClient } from "../../src/kube/client.ts";
import type { PortForward } from "../../src/kube/port-forward.ts";
import { createLogger } from "../../src/log.ts";
import { type RunningWebhooks, startWebhooks } from "../../src/operator/webhooks/run.ts";
import type { CAS } from "../../src/resources/cas.ts";
import { removeBackupVolume } from "./backup-volume.ts";
import { type LocalCluster, sharedCluster } from "./cluster.ts";
import { casClaims, cleanNodes, prepareCasNodesAndVolumes, registerBackups } from "./day2.ts";
import { waitFor } from "./kube.ts";
import { buildOperatorContext, installCrds, registerCasOverPortForwards, type TestOperator } from "./operator.ts";

export const BINARY = process.env.SCONE_BINARY ?? join(import.meta.dir, "../../dist/scone");
export const binaryPresent = existsSync(BINARY);

/** Compiles the stand-in SCONE CLI (sim/scone-cli) to `outfile`: what `--scone-cli PATH` runs in these tests. */
export async function buildStandInCli(outfile: string): Promise<string> {
  const main = join(import.meta.dir, "../../sim/scone-cli/main.ts");
  const build = Bun.spawn([process.execPath, "build", "--compile", main, "--outfile", outfile], {
    stdout: "ignore",
    stderr: "pipe",
  });
  if ((await build.exited) !== 0) throw new Error(`bun build --compile: ${await new Response(build.stderr).text()}`);
  return outfile;
}

/** A loopback port below the ephemeral range (no bind(0) or outgoing connection takes it before its user binds). */
export { freePort } from "../../hack/cluster/ports.ts";

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `kubectl provision ARGS` as kubectl runs the plugin: the binary by the name kubectl-provision (a symlink) in `cwd`,
 * with the test's HOME and state directory. The upstream variables that stand for flags (NAMESPACE, DCAP_KEY, …) and
 * SCONE_CLI_CONFIG are unset: the lines must say everything themselves.
 */
export function kubectlProvisionRunner(o: {
  readonly plugin: string;
  readonly cwd: string;
  readonly home: string;
  readonly stateDir: string;
  readonly timeoutMs: number;
}): (args: readonly string[], kubeconfig: string) => Promise<RunResult> {
  const unset = ["NAMESPACE", "DCAP_KEY", "VERSION", "IMAGE_REPO", "IMAGE_PREFIX", "TARGET_DIR", "MANIFESTS_URL"];
  return async (args, kubeconfig) => {
    const env: Record<string, string | undefined> = {
      ...process.env,
      HOME: o.home,
      KUBECONFIG: kubeconfig,
      SCONE_STATE_DIR: o.stateDir,
      NO_COLOR: "1",
    };
    for (const v of [...unset, "SCONE_CLI_CONFIG"]) delete env[v];
    const proc = Bun.spawn([o.plugin, ...args], {
      cwd: o.cwd,
      env,
      stdout: "pipe",
      stderr: "pipe",
      timeout: o.timeoutMs,
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { code, stdout, stderr };
  };
}

/** Runs the compiled binary with only the given kubeconfig (no $KUBECONFIG from the test's environment). */
export async function scone(args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  const proc = Bun.spawn([BINARY, ...args], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, KUBECONFIG: "", NO_COLOR: "1" },
    timeout: timeoutMs,
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/**
 * The admission webhooks of the operator in `namespace`, served in this process at 127.0.0.1:port (URL mode).
 * Log lines (warnings and errors) go to `logLines` when given, else to stderr.
 */
export async function serveWebhooks(
  client: KubeClient,
  namespace: string,
  port: number,
  logLines?: string[],
): Promise<RunningWebhooks> {
  const sink = logLines ? { write: (line: string) => logLines.push(line) } : process.stderr;
  const log = createLogger({ level: logLines ? "warn" : "error", format: "json", sink, component: "test-webhooks" });
  return startWebhooks(
    { client, log, operatorNamespace: namespace, serviceVersion: "6.0.6" },
    { port, mode: "url", host: "127.0.0.1", recheckMs: 2_000 },
  );
}

const ADMISSION = "admissionregistration.k8s.io/v1";
const RBAC = "rbac.authorization.k8s.io/v1";
const BASE = "base.scone.cloud/v1beta1";

/** Deletes the cluster-scoped objects an install into `namespace` made, the LAS/SGXPlugin, then the namespace. */
export async function removeInstall(admin: KubeClient, namespace: string): Promise<void> {
  const quiet = (p: Promise<unknown>) => p.catch(() => undefined);
  // The webhook configurations first (failurePolicy Fail): their server may be gone already.
  for (const kind of ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]) {
    const prefix = kind.startsWith("Mutating") ? "scone-mutating" : "scone-validating";
    await quiet(
      admin.deleteIfExists({ apiVersion: ADMISSION, kind, name: `${prefix}-webhook-configuration-${namespace}` }),
    );
  }
  for (const kind of ["LAS", "SGXPlugin"]) {
    const list = await admin.list({ apiVersion: BASE, kind }).catch(() => undefined);
    for (const o of list?.items ?? []) {
      await quiet(admin.deleteIfExists({ apiVersion: BASE, kind, name: o.metadata?.name ?? "" }));
    }
  }
  // The install's cluster-scoped RBAC (namespaced objects go with the namespace).
  for (const o of renderInstallManifests({ namespace }))
    if ((o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding") && o.metadata?.name)
      await quiet(admin.deleteIfExists({ apiVersion: RBAC, kind: o.kind, name: o.metadata.name }));
  await quiet(admin.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: namespace }));
  // A test that ran the Deployment pre-bound a volume to its backup claim (test/harness/backup-volume.ts).
  await quiet(removeBackupVolume(admin, namespace));
}

/**
 * Deletes every LAS and SGXPlugin in the cluster (their finalizers first: no operator may be left to run them) and
 * waits until they are gone, so a file that starts from an empty cluster does not depend on the files before it
 * having cleaned up.
 */
export async function removeAllLasAndSgxPlugins(admin: KubeClient, timeoutMs = 60_000): Promise<void> {
  const listAll = async () =>
    (
      await Promise.all(
        ["LAS", "SGXPlugin"].map(async (kind) => {
          const list = await admin.list({ apiVersion: BASE, kind }).catch(() => undefined); // no CRD yet: none
          return (list?.items ?? []).map((o) => ({ apiVersion: BASE, kind, name: o.metadata?.name ?? "" }));
        }),
      )
    ).flat();
  // Deleted first, then unfinalized, and again on every look: the API server refuses a new finalizer on an object
  // being deleted, so an operator still reconciling it (one just told to stop) cannot put one back afterwards, as
  // it could between an unfinalize and a delete — that left a LAS stuck for the next file.
  const removeLeft = async () => {
    const left = await listAll();
    for (const ref of left) {
      await admin.deleteIfExists(ref).catch(() => undefined);
      await admin.patch(ref, { metadata: { finalizers: null } }, "merge").catch(() => undefined);
    }
    return left.length === 0;
  };
  await waitFor("no LAS or SGXPlugin left in the cluster", removeLeft, timeoutMs);
}

export interface SimAuditEntry {
  readonly event: string;
  readonly details?: { readonly session?: string };
}

/**
 * Every audit entry the CAS simulator wrote for pod `namespace/pod`, over all the pod's instances (a spec change
 * replaces the pod, and the audit volume is per pod). Read from the simulator's files, which it writes before it
 * answers a request, not from the `audit` container's log: that only tails them every 200 ms, and a replaced pod's
 * log stream ends with the pod, so entries written just before a replacement could be missing from it.
 */
export function simAuditEntries(runtimeStateDir: string, namespace: string, pod: string): SimAuditEntry[] {
  const instances = podInstancesDir(runtimeStateDir, namespace, pod);
  if (!existsSync(instances)) return [];
  return readdirSync(instances)
    .map((uid) => join(instances, uid, "volumes", "audit-log", "cas_audit.log"))
    .filter((file) => existsSync(file))
    .flatMap((file) => readFileSync(file, "utf8").split("\n"))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as SimAuditEntry];
      } catch {
        return []; // not an entry (the empty rest after the last newline)
      }
    });
}

/** A made-up MRENCLAVE for the new backup controller's CLI in upgrade tests (upstream reads it from the image). */
export const NEW_BACKUP_CLI_MRENCLAVE = "ef2242460123456789abcdef0123456789abcdef0123456789abcdefd0054990";

/** How many times the simulator updated the backup policy session (cas-owner/primary-backup) of pod `pod`. */
export function backupPolicyUpdates(runtimeStateDir: string, namespace: string, pod: string): number {
  return simAuditEntries(runtimeStateDir, namespace, pod).filter(
    (e) => e.event === "session_updated" && e.details?.session === "cas-owner/primary-backup",
  ).length;
}

/**
 * Waits until CAS `ref` is HEALTHY on a status computed for its latest spec (generation), with a snapshotTimestamp
 * other than `before` (the one read before the spec change). A snapshot taken before the change would satisfy a
 * plain "has a snapshot" — the status keeps it across pod restarts — while the changed pod template still rolls out.
 */
/** Ten of the simulated CAS's snapshot intervals (3 s, sim/kwok-cas/runtime.ts). */
const UNCHANGED_WINDOW_MS = 30_000;

export async function waitForSnapshotAfterChange(
  client: KubeClient,
  ref: { apiVersion: string; kind: string; namespace: string; name: string },
  before: string | undefined,
  timeoutMs: number,
): Promise<CAS> {
  const healthyWithSnapshot = async (newer: boolean) => {
    const cas = await client.tryGet<CAS>(ref);
    const taken = cas?.status?.snapshotTimestamp;
    return isHealthy(cas) && taken !== undefined && (!newer || taken !== before) ? cas : undefined;
  };
  // The simulated CAS snapshots every few seconds only when its database changed (sim/cas/snapshots.ts), and the
  // spec change no longer replaces the pod (the CAS workload renders no environment for it). A newer snapshot
  // comes when something was written since `before`; when none comes for ten snapshot intervals, nothing changed
  // since, and the last snapshot holds the current database.
  const newer = await waitFor("a newer snapshot", () => healthyWithSnapshot(true), UNCHANGED_WINDOW_MS).catch(
    () => undefined,
  );
  return (
    newer ??
    waitFor(
      `CAS ${ref.namespace}/${ref.name} HEALTHY with a snapshot (none newer than ${before ?? "none"})`,
      () => healthyWithSnapshot(false),
      timeoutMs,
    )
  );
}

/**
 * Clean-up steps for the namespace of a CAS flow test, each to be run on its own (cleanupSteps): the nodes' LAS labels
 * and backup registrations, each CAS's finalizer (no operator is left to remove it), the namespace, and the zone-a
 * volumes made for the CAS claims.
 */
export function casNamespaceCleanup(
  client: KubeClient | undefined,
  namespace: string,
  names: readonly string[],
): (() => unknown)[] {
  const fieldManager = "scone-test-cleanup";
  const casRef = (name: string) => ({ apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", namespace, name });
  return [
    () => client && cleanNodes(client, namespace, names),
    ...names.map(
      (name) => () =>
        client
          ?.patch(casRef(name), { metadata: { finalizers: null } }, "merge", { fieldManager })
          .catch(() => undefined), // a CAS the test never made
    ),
    () => client?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: namespace }),
    ...names.flatMap((name) =>
      casClaims(name).map(
        (claim) => () =>
          client?.deleteIfExists({ apiVersion: "v1", kind: "PersistentVolume", name: `${namespace}-${claim}` }),
      ),
    ),
  ];
}

/**
 * The setup of the CAS flow tests: the shared cluster, the operator's CAS controller in this process (reaching CAS
 * over port-forwards), the CRDs, the given namespaces with their CASes' nodes, volumes and backup registrations (what
 * the backup controller would record on every SGX node, so a CAS can turn HEALTHY), and CAS pods backed by the CAS
 * simulator (state under `root`/kwok-cas). The fields are set by start().
 */
export class CasFlowFixture {
  cluster!: LocalCluster;
  op!: TestOperator;
  client!: KubeClient;
  runtime!: CasPodRuntime;
  private readonly operatorForwards = new Map<string, PortForward>();

  constructor(
    private readonly root: string,
    /** Namespace → the CAS names made there. */
    private readonly namespaces: Readonly<Record<string, readonly string[]>>,
    private readonly log?: (line: string) => void,
  ) {}

  async start(): Promise<void> {
    this.cluster = await sharedCluster();
    this.op = await buildOperatorContext({ kubeconfigPath: this.cluster.kubeconfigPath });
    this.client = this.op.client;
    await installCrds(this.client);
    for (const [namespace, names] of Object.entries(this.namespaces)) {
      await this.client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
      await prepareCasNodesAndVolumes(this.client, namespace, names);
      for (const name of names) await registerBackups(this.client, namespace, name);
    }
    this.runtime = await startCasPodRuntime({
      kubeconfig: this.cluster.kubeconfigPath,
      stateDir: join(this.root, "kwok-cas"),
      ...(this.log ? { log: this.log } : {}),
    });
    await registerCasOverPortForwards(this.op, this.cluster.kubeconfigPath, this.operatorForwards);
    await this.op.start();
  }

  /**
   * Clean-up steps for cleanupSteps: the operator stops, then `extra` (e.g. the test's own port-forwards), the
   * operator's port-forwards, the simulator, each namespace with its CASes, and `root`.
   */
  cleanup(extra: readonly (() => unknown)[] = []): (() => unknown)[] {
    return [
      () => this.op?.stop(),
      ...extra,
      ...[...this.operatorForwards.values()].map((f) => () => f.close()),
      () => this.runtime?.stop(),
      ...Object.entries(this.namespaces).flatMap(([namespace, names]) =>
        casNamespaceCleanup(this.client, namespace, names),
      ),
      () => rmSync(this.root, { recursive: true, force: true }),
    ];
  }
}

/**
 * The compiled binary as kubectl finds the plugin (`root`/bin/kubectl-provision, a symlink), its HOME and working
 * directory, and the compiled stand-in SCONE CLI (KWOK runs no sconecli pod: the lines reach CAS with `--scone-cli`,
 * upstream's --no-docker). install() makes them; run() is kubectlProvisionRunner's.
 */
export function compiledPlugin(root: string, timeoutMs: number) {
  const home = join(root, "home");
  const cwd = join(root, "work");
  const plugin = join(root, "bin", "kubectl-provision");
  const sconeCli = join(root, "scone-cli-sim");
  return {
    home,
    cwd,
    sconeCli,
    run: kubectlProvisionRunner({ plugin, cwd, home, stateDir: join(root, "state"), timeoutMs }),
    async install(): Promise<void> {
      await buildStandInCli(sconeCli);
      mkdirSync(join(root, "bin"));
      mkdirSync(home);
      mkdirSync(cwd);
      symlinkSync(BINARY, plugin);
    },
  };
}
