// The CAS pod runtime for KWOK: watches pods labelled app.kubernetes.io/name=cas and, for each one on a KWOK node,
// runs a CAS simulator as if it were the pod's `cas` container, and creates the kwok Logs/Exec/PortForward objects
// that route `kubectl logs/exec/port-forward` (through the API server) to it. Per pod key, work is serialized.
import { rmSync } from "node:fs";
import { dirname } from "node:path";
import type { V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { KubeClient } from "../../src/kube/client.ts";
import { loadKubeConfig } from "../../src/kube/config.ts";
import { AlreadyExistsError } from "../../src/kube/errors.ts";
import { clientListWatch, Informer } from "../../src/kube/informer.ts";
import { registerResource } from "../../src/kube/resources.ts";
import { objectKey } from "../../src/kube/types.ts";
import { CasInstance } from "./instance.ts";
import { KWOK_API_VERSION, KWOK_KINDS, type RunningEndpoints, renderKwokObjects } from "./kwok-objects.ts";
import { type PodPaths, podDir, podPaths } from "./layout.ts";
import {
  CAS_APP_SELECTOR,
  type CasPodPlan,
  INSTANCE_LABEL,
  KWOK_NODE_ANNOTATION,
  planCasPod,
  samePlan,
} from "./plan.ts";
import { buildPodRoot } from "./pod-root.ts";
import { backupRegistrationLabel } from "./registration.ts";
import { volumeForClaim } from "./volumes.ts";

export const FIELD_MANAGER = "scone-kwok-cas";
/** Snapshot interval when the pod's env sets none: short, so tests see snapshots soon. */
export const DEFAULT_SNAPSHOT_INTERVAL_MS = 3_000;

export interface CasPodRuntimeOptions {
  readonly kubeconfig: string;
  readonly stateDir: string;
  readonly defaultSnapshotIntervalMs?: number;
  /** Create a PersistentVolume for each Pending CAS claim (the local cluster has no provisioner). Default true. */
  readonly provisionVolumes?: boolean;
  readonly log?: (line: string) => void;
}

export interface SimulatedCasPod {
  readonly plan: CasPodPlan;
  readonly paths: PodPaths;
  /** Ports of the running simulator on 127.0.0.1; undefined while it is not running. */
  readonly endpoints: RunningEndpoints | undefined;
}

export interface CasPodRuntime {
  /** The pods currently simulated, by `namespace/name`. */
  pods(): ReadonlyMap<string, SimulatedCasPod>;
  /**
   * Resolves once the pod `namespace/name` has a running simulator whose kwok objects are applied. kwok learns of
   * objects through its own watch, so a connection right after may still meet the previous route: retry it.
   */
  waitForPod(key: string, timeoutMs?: number): Promise<SimulatedCasPod>;
  stop(): Promise<void>;
}

for (const { kind, plural } of KWOK_KINDS)
  registerResource({ apiVersion: KWOK_API_VERSION, kind, plural, namespaced: true });

interface Entry {
  readonly plan: CasPodPlan;
  readonly paths: PodPaths;
  readonly instance: CasInstance;
  /**
   * The endpoints the applied kwok objects point at (undefined endpoints: a CAS not running), or NOT_APPLIED.
   * Compared with the instance's current endpoints rather than kept as a flag: a restart publishes its new ports a
   * moment before it reports them (onEndpoints), and a flag set for the stopped CAS would pass for the new one.
   */
  appliedFor: RunningEndpoints | undefined | typeof NOT_APPLIED;
}

const NOT_APPLIED = Symbol("not applied");
const isApplied = (e: Entry): boolean => e.appliedFor === e.instance.current;

/** kwok serves per-pod routes only with --enable-crds=PortForward,Logs,Exec and their CRDs (hack/cluster does both). */
async function requireKwokCrds(client: KubeClient): Promise<void> {
  const crd = "apiextensions.k8s.io/v1";
  for (const { plural } of KWOK_KINDS) {
    const name = `${plural}.kwok.x-k8s.io`;
    const found = await client.tryGet({ apiVersion: crd, kind: "CustomResourceDefinition", name });
    if (!found) {
      throw new Error(
        `this cluster has no CRD ${name}: its kwok cannot route a pod's logs, exec and port-forward. ` +
          "Clusters made by hack/cluster since kwok-cas have it: recreate the cluster (make cluster-down && make cluster).",
      );
    }
  }
}

export async function startCasPodRuntime(opts: CasPodRuntimeOptions): Promise<CasPodRuntime> {
  const log = opts.log ?? ((line: string) => console.error(`[kwok-cas] ${line}`));
  const client = KubeClient.fromConnection(await loadKubeConfig({ kubeconfig: opts.kubeconfig }), {
    fieldManager: FIELD_MANAGER,
  });
  await requireKwokCrds(client);
  const defaultInterval = opts.defaultSnapshotIntervalMs ?? DEFAULT_SNAPSHOT_INTERVAL_MS;
  const entries = new Map<string, Entry>();
  const chains = new Map<string, Promise<void>>();
  const queued = new Set<string>();
  const waiters = new Set<() => void>();
  let stopped = false;

  const informer = new Informer<V1Pod>(
    clientListWatch(client, { type: { apiVersion: "v1", kind: "Pod" }, labelSelector: CAS_APP_SELECTOR }),
    { name: "kwok-cas-pods", stripManagedFields: true, resyncMs: 30_000 },
  );

  const notify = () => {
    for (const w of waiters) w();
  };

  const applyObjects = async (entry: Entry): Promise<void> => {
    const endpoints = entry.instance.current;
    const objects = renderKwokObjects({
      plan: entry.plan,
      root: entry.paths.root,
      casLog: entry.paths.casLog,
      auditContainerLog: entry.paths.auditContainerLog,
      endpoints,
    });
    for (const obj of objects) await client.apply(obj, { force: true });
    // A restart during the apply changed the ports: isApplied stays false (its onEndpoints queued another apply).
    entry.appliedFor = endpoints;
  };

  const deleteObjects = async (namespace: string, name: string): Promise<void> => {
    for (const { kind } of KWOK_KINDS) {
      await client.deleteIfExists({ apiVersion: KWOK_API_VERSION, kind, namespace, name }).catch((err: unknown) => {
        log(`deleting ${kind} ${namespace}/${name}: ${(err as Error).message}`);
      });
    }
  };

  const nodeFacts = async (plan: { node: string; namespace: string; instance: string; version?: string }) => {
    const node = await client.tryGet<V1Node>({ apiVersion: "v1", kind: "Node", name: plan.node });
    const annotations = node?.metadata?.annotations ?? {};
    // A registration is for the version this pod runs (the backup controller's label names it).
    const label = plan.version ? backupRegistrationLabel(plan.namespace, plan.instance, plan.version) : undefined;
    return {
      isKwok: annotations[KWOK_NODE_ANNOTATION] !== undefined,
      registered: label !== undefined && node?.metadata?.labels?.[label] === "true",
    };
  };

  const retire = async (key: string, entry: Entry, removeDir: boolean): Promise<void> => {
    entries.delete(key);
    await entry.instance.stop();
    if (removeDir) rmSync(entry.paths.dir, { recursive: true, force: true });
  };

  const reconcile = async (key: string): Promise<void> => {
    if (stopped) return;
    const pod = informer.get(key);
    const current = entries.get(key);
    const nodeName = pod?.spec?.nodeName;
    const facts =
      pod && nodeName
        ? await nodeFacts({
            node: nodeName,
            namespace: pod.metadata?.namespace ?? "default",
            instance: pod.metadata?.labels?.[INSTANCE_LABEL] ?? "",
          })
        : undefined;
    const outcome = pod
      ? planCasPod(pod, facts?.isKwok ?? false, defaultInterval)
      : { run: false as const, why: "deleted" };
    if (!outcome.run) {
      if (current) {
        log(`${key}: stopping CAS (${outcome.why})`);
        // The pod's own directory (emptyDirs, logs) goes with the pod; PVC directories stay.
        await retire(key, current, !pod || pod.metadata?.uid !== current.plan.uid);
        const [namespace, name] = key.split("/") as [string, string];
        await deleteObjects(namespace, name);
        notify();
      }
      return;
    }
    const plan = outcome.plan;
    if (current && samePlan(current.plan, plan)) {
      if (!isApplied(current)) {
        await applyObjects(current);
        notify();
      }
      return;
    }
    if (current) {
      log(`${key}: pod changed (uid/node/spec); restarting CAS`);
      await retire(key, current, current.plan.uid !== plan.uid);
    }
    const paths = podPaths(opts.stateDir, plan);
    buildPodRoot(plan, paths);
    let entry: Entry;
    const instance = new CasInstance({
      plan,
      paths,
      // An unreadable node counts as unregistered: the next restart asks again.
      nodeHasRegisteredBackup: () =>
        nodeFacts(plan).then(
          (f) => f.registered,
          () => false,
        ),
      log,
      onEndpoints: () => {
        // Ports changed (restart) or the CAS went away: re-point the PortForward, in this key's queue.
        if (entries.get(key) === entry) enqueue(key);
      },
    });
    entry = { plan, paths, instance, appliedFor: NOT_APPLIED };
    entries.set(key, entry);
    log(`${key}: starting CAS ${plan.version} on node ${plan.node}`);
    await instance.start();
    await applyObjects(entry);
    notify();
  };

  const enqueue = (key: string): void => {
    if (queued.has(key) || stopped) return;
    queued.add(key);
    const previous = chains.get(key) ?? Promise.resolve();
    const next = previous.then(async () => {
      queued.delete(key);
      try {
        await reconcile(key);
      } catch (err) {
        log(`${key}: ${(err as Error).message}; retrying in 2 s`);
        setTimeout(() => enqueue(key), 2_000);
      }
    });
    chains.set(key, next);
  };

  // Stand-in storage provisioner for CAS claims (volumes.ts).
  const claims = new Informer<V1PersistentVolumeClaim>(
    clientListWatch(client, {
      type: { apiVersion: "v1", kind: "PersistentVolumeClaim" },
      labelSelector: CAS_APP_SELECTOR,
    }),
    { name: "kwok-cas-claims", stripManagedFields: true },
  );
  const provision = async (claim: V1PersistentVolumeClaim): Promise<void> => {
    if (stopped || !volumeForClaim(claim, opts.stateDir)) return;
    const volumes = await client.list<V1PersistentVolume>({ apiVersion: "v1", kind: "PersistentVolume" });
    const volume = volumeForClaim(claim, opts.stateDir, volumes.items);
    if (!volume) return;
    try {
      await client.create(volume);
      log(`${objectKey(claim)}: created PersistentVolume ${volume.metadata?.name}`);
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
  };
  const provisionLogged = (claim: V1PersistentVolumeClaim) =>
    void provision(claim).catch((err: unknown) => log(`${objectKey(claim)}: ${(err as Error).message}`));
  claims.addHandlers({ add: provisionLogged, update: (_old, claim) => provisionLogged(claim) });
  if (opts.provisionVolumes !== false) {
    claims.start();
    await claims.waitForSync();
  }

  informer.addHandlers({
    add: (pod) => enqueue(objectKey(pod)),
    update: (_old, pod) => enqueue(objectKey(pod)),
    delete: (pod) => enqueue(objectKey(pod)),
  });
  informer.start();
  await informer.waitForSync();

  return {
    pods() {
      const view = new Map<string, SimulatedCasPod>();
      for (const [key, e] of entries) view.set(key, { plan: e.plan, paths: e.paths, endpoints: e.instance.current });
      return view;
    },
    waitForPod(key, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const e = entries.get(key);
          if (e && isApplied(e) && e.instance.current) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve({ plan: e.plan, paths: e.paths, endpoints: e.instance.current });
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`CAS pod ${key} did not get a running simulator within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      stopped = true;
      await informer.stop();
      await claims.stop();
      await Promise.all(chains.values());
      for (const [key, entry] of [...entries]) {
        await retire(key, entry, false);
        const [namespace, name] = key.split("/") as [string, string];
        await deleteObjects(namespace, name);
      }
    },
  };
}

/** The directory of one pod's instances (all UIDs), for callers that clean up after a test. */
export function podInstancesDir(stateDir: string, namespace: string, pod: string): string {
  return dirname(podDir(stateDir, namespace, pod, "x"));
}
