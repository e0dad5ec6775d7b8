// An in-process operator for integration tests: the same OperatorContext `scone operator` builds (shared
// informers, informer-backed reader, Event recorder, Manager without leader election, ports 0), on a client whose
// transport counts every write, so a test can assert that a steady state costs no write request.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SIMULATED_NODES } from "../../hack/cluster/nodes.ts";
import { KubeClient } from "../../src/kube/client.ts";
import { loadKubeConfig } from "../../src/kube/config.ts";
import { EventRecorder } from "../../src/kube/events.ts";
import type { PortForward } from "../../src/kube/port-forward.ts";
import { registerResource } from "../../src/kube/resources.ts";
import { SharedInformers } from "../../src/kube/shared-informers.ts";
import { type RequestOptions, Transport } from "../../src/kube/transport.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { createLogger, type LogLevel } from "../../src/log.ts";
import { registerCasController } from "../../src/operator/cas/controller.ts";
import { casDriverProbe } from "../../src/operator/cas/driver-probe.ts";
import { Manager } from "../../src/operator/manager.ts";
import { SGX_LABEL_MARKER } from "../../src/operator/node-agent/node-labels.ts";
import { InformerReader, type OperatorContext } from "../../src/operator/wiring.ts";
import { renderCrds, sconeResourceTypes } from "../../src/resources/crds.ts";
import { SGX_CAPABLE_LABEL } from "../../src/resources/defaults.ts";
import { standInCliSource } from "./cas-driver.ts";
import { waitFor } from "./kube.ts";

/** A transport that remembers every request that is not a read ("PATCH /api/v1/nodes/x"). */
export class CountingTransport extends Transport {
  readonly writes: string[] = [];
  override async requestText(opts: RequestOptions): Promise<string> {
    const method = opts.method ?? "GET";
    if (method !== "GET") this.writes.push(`${method} ${opts.path}`);
    return super.requestText(opts);
  }
}

export interface TestOperator {
  readonly ctx: OperatorContext;
  readonly client: KubeClient;
  /** Write requests made through `client` (and so by the controllers, the kit and the Event recorder). */
  readonly writes: string[];
  /** Starts informers and controllers (no leader election). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The operator's metrics text once it holds every one of `lines`. Gauges follow the latest reconcile, which may run
 * after the status a test waited for (a pod event right behind it), so metrics are awaited like status, not sampled.
 */
export async function waitForMetrics(op: TestOperator, lines: readonly string[], timeoutMs = 30_000): Promise<string> {
  return waitFor(
    "the operator's metrics",
    () => {
      const text = op.ctx.manager.metrics.render();
      const missing = lines.filter((l) => !text.includes(l));
      if (missing.length > 0) throw new Error(`metrics lack ${missing.join(" | ")}; last render:\n${text}`);
      return text;
    },
    timeoutMs,
  );
}

/**
 * Waits until the operator's shared informer holds the object at the resourceVersion the API server returns (or
 * both lack it). A controller decides on its cache, so a test that calls processKey or counts writes waits for
 * the cache to have caught up with what the test just read, instead of hoping a quiet period was long enough.
 * Only for types the registered controllers watch: for any other type this would start an informer of its own.
 */
export async function waitForCache(
  op: TestOperator,
  ref: { apiVersion: string; kind: string; namespace?: string; name: string },
  timeoutMs = 60_000,
): Promise<void> {
  const informer = op.ctx.informers.informer<KubeObject>({ type: { apiVersion: ref.apiVersion, kind: ref.kind } });
  await waitFor(
    `the informer of ${ref.kind} ${ref.name} at the API server's resourceVersion`,
    async () => {
      const live = await op.client.tryGet<KubeObject>(ref);
      const cached = ref.namespace === undefined ? informer.get(ref.name) : informer.get(ref.namespace, ref.name);
      if (live?.metadata?.resourceVersion === cached?.metadata?.resourceVersion) return true;
      throw new Error(
        `cached resourceVersion ${cached?.metadata?.resourceVersion}, API server ${live?.metadata?.resourceVersion}`,
      );
    },
    timeoutMs,
  );
}

/**
 * Puts the harness nodes' labels back as the harness made them (SGX nodes labelled sgx.intel.com/capable, no LAS
 * labels, no plugin marker). The LAS and SGXPlugin controllers label nodes; a file that ran them leaves the
 * cluster-wide nodes clean for the files after it. Each node is patched on its own: one failure skips no other.
 */
export async function restoreHarnessNodeLabels(client: KubeClient): Promise<void> {
  await Promise.all(
    SIMULATED_NODES.map((node) =>
      client
        .patch(
          { apiVersion: "v1", kind: "Node", name: node.name },
          {
            metadata: {
              labels: {
                "las.scontain.com/capable": null,
                "las.scontain.com/ok": null,
                [SGX_CAPABLE_LABEL]: node.sgx ? "true" : null,
              },
              annotations: { [SGX_LABEL_MARKER]: null },
            },
          },
          "merge",
        )
        .catch(() => {}),
    ),
  );
}

/**
 * Runs every cleanup step even when one throws: an afterAll that stops halfway leaves the shared cluster dirty for
 * the files after it. A failed step is reported on stderr, not thrown, so it does not hide the tests' own outcome.
 */
export async function cleanupSteps(steps: readonly (() => unknown)[]): Promise<void> {
  for (const [i, step] of steps.entries()) {
    try {
      await step();
    } catch (err) {
      console.error(`cleanup step ${i + 1} of ${steps.length} failed: ${err instanceof Error ? err.message : err}`);
    }
  }
}

export interface BuildOptions {
  readonly kubeconfigPath: string;
  readonly operatorNamespace?: string;
  readonly serviceVersion?: string;
  readonly logLevel?: LogLevel;
}

export async function buildOperatorContext(opts: BuildOptions): Promise<TestOperator> {
  const transport = new CountingTransport(await loadKubeConfig({ kubeconfig: opts.kubeconfigPath }));
  const client = new KubeClient(transport);
  const log = createLogger({ level: opts.logLevel ?? "warn", sink: process.stderr, component: "operator" });
  const manager = new Manager({ log, probePort: 0, metricsPort: 0, bindAddress: "127.0.0.1" });
  const informers = new SharedInformers(client, { stripManagedFields: true, logger: log.child({ component: "kube" }) });
  const recorder = new EventRecorder(client, { reportingController: "scone-operator", logger: log });
  const ctx: OperatorContext = {
    client,
    informers,
    manager,
    kit: {
      client,
      reader: new InformerReader(informers, client),
      events: { record: (o, type, reason, message) => void recorder.record(o, type, reason, message) },
    },
    log,
    operatorNamespace: opts.operatorNamespace ?? "scone-system",
    serviceVersion: opts.serviceVersion ?? "6.0.6",
    recordHistory: () => {},
  };
  manager.addAlways({ name: "informers", start: () => informers.start(), stop: () => informers.stop() });
  return {
    ctx,
    client,
    writes: transport.writes,
    start: () => manager.start(),
    stop: () => manager.stop(),
  };
}

/** Applies scone's CRDs and waits until the API server serves them. */
export async function installCrds(client: KubeClient): Promise<void> {
  const crds = renderCrds();
  for (const crd of crds) await client.apply(crd as unknown as KubeObject, { force: true, fieldManager: "scone-test" });
  const deadline = Date.now() + 60_000;
  for (const crd of crds) {
    const ref = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", name: crd.metadata.name };
    for (;;) {
      const got = await client.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(ref);
      if (got.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} not established after 60 s`);
      await Bun.sleep(100);
    }
  }
  // Established does not mean discovery lists the kind yet; the operator registers its own kinds instead of
  // discovering them (src/operator/run.ts), and so do the tests that run its controllers in process.
  for (const t of sconeResourceTypes) registerResource(t);
}

/** Creates the namespace unless it exists. */
export async function ensureNamespace(client: KubeClient, name: string): Promise<void> {
  await client.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name } }, { fieldManager: "scone-test" });
}

/**
 * A PersistentVolume pre-bound to `claim`, pinned to zone-a like a zonal disk: the local cluster has no storage
 * provisioner, and a zonal disk is what makes CAS moves zone-bound.
 */
export function zoneAVolume(namespace: string, claim: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: `${namespace}-${claim}` },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Retain",
      storageClassName: "",
      hostPath: { path: `/tmp/${namespace}/${claim}` },
      claimRef: { namespace, name: claim },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: "topology.kubernetes.io/zone", operator: "In", values: ["zone-a"] }] },
          ],
        },
      },
    },
  } as KubeObject;
}

/**
 * Registers the CAS controller the way an operator outside the cluster runs it: its probe asks each CAS through the
 * stand-in SCONE CLI run locally, over an API-server port-forward to NAME-0 kept open in `forwards` (the caller
 * closes them) for the test's speed, and looks into the pod by exec.
 */
export async function registerCasOverPortForwards(
  op: TestOperator,
  kubeconfigPath: string,
  forwards: Map<string, PortForward>,
): Promise<void> {
  const conn = await loadKubeConfig({ kubeconfig: kubeconfigPath });
  const stateDir = mkdtempSync(join(tmpdir(), "scone-it-operator-cli-"));
  process.once("exit", () => rmSync(stateDir, { recursive: true, force: true }));
  const probe = casDriverProbe(op.client, { source: standInCliSource({ conn, stateDir, forwards }) });
  registerCasController(op.ctx, probe, {
    podDeletionBackoffMs: 2_000,
    healthyRecheckMs: 1_000,
    unhealthyRecheckMs: 500,
  });
}

/** The compiled operator as a local process against the test cluster: no webhooks, logs to `logFile` (+ ".err"). */
export function spawnOperator(opts: {
  readonly binary: string;
  readonly kubeconfigPath: string;
  readonly stateDir: string;
  readonly namespace: string;
  readonly probePort: number;
  readonly metricsPort: number;
  readonly logFile: string;
  readonly extra?: readonly string[];
}): ReturnType<typeof Bun.spawn> {
  return Bun.spawn(
    [
      opts.binary,
      "operator",
      "--kubeconfig",
      opts.kubeconfigPath,
      "--state-dir",
      opts.stateDir,
      "-n",
      opts.namespace,
      "--probe-port",
      String(opts.probePort),
      "--metrics-port",
      String(opts.metricsPort),
      "--webhook-mode",
      "off",
      ...(opts.extra ?? []),
    ],
    {
      stdout: Bun.file(opts.logFile),
      stderr: Bun.file(`${opts.logFile}.err`),
      // The kubeconfig flag alone decides the cluster.
      env: { ...process.env, KUBECONFIG: "" },
    },
  );
}
