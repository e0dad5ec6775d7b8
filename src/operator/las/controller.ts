// The LAS controller: keeps the LAS DaemonSet (and its DCAP key Secret), the las.scontain.com/{capable,ok} node
// labels, the status (with each node's QE public key from the LAS logs) and the scone_las_* gauges.
// One LAS per cluster is reconciled (the oldest); others are told so in status.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import { LAS_GAUGES } from "../../metrics/catalog.ts";
import { apiVersionOf } from "../../resources/definition.ts";
import { type LAS, type LASStatus, lasDefinition } from "../../resources/las.ts";
import type { Controller } from "../../runtime/controller.ts";
import { cacheOwned, DAEMONSET_TYPE, NODE_TYPE, POD_TYPE, SECRET_TYPE } from "../kit/caches.ts";
import { ResourceGauges } from "../kit/gauges.ts";
import { RECHECK_MS, stateMetricValue } from "../kit/health.ts";
import { APP_NAME_LABEL } from "../kit/labels.ts";
import { planLasNodeLabels } from "../node-agent/node-labels.ts";
import { type NodeAgentKind, registerNodeAgent } from "../node-agent/reconciler.ts";
import { MANAGED_SELECTOR, type OperatorContext } from "../wiring.ts";
import { LasLogFactsCache } from "./log-facts.ts";
import { LAS_APP, LAS_CONTAINER, renderLasDaemonSet, renderLasDcapSecret } from "./render.ts";
import { deriveLasStatus, lasNodeHealth, lasPodsOf, observeLasNodes } from "./status.ts";

export const LAS_TYPE: TypeRef = { apiVersion: apiVersionOf(lasDefinition), kind: "LAS" };

const SCALAR = LAS_GAUGES;

const metricValues = (s: LASStatus): Record<keyof typeof SCALAR, number> => ({
  state: stateMetricValue(s.state),
  desiredNumberScheduled: s.desiredNumberScheduled ?? -1,
  numberAvailable: s.numberAvailable ?? -1,
  lasReplicaAlert: s.lasReplicaAlert ?? -1,
  lasProbeAlert: s.lasProbeAlert ?? -1,
});

/** While some node's QE public key is unknown, read the logs again this often. */
const KEY_RECHECK_MS = 5 * 60_000;

export interface LasControllerOptions {
  /** Read LAS pod logs for the QE public keys (best effort). Default true. */
  readonly readLogs?: boolean;
}

export function registerLasController(ctx: OperatorContext, options: LasControllerOptions = {}): Controller {
  const opts = { serviceVersion: ctx.serviceVersion, operatorNamespace: ctx.operatorNamespace };
  const resources = ctx.informers.informer<KubeObject>({ type: LAS_TYPE });
  const daemonSets = cacheOwned(ctx, { type: DAEMONSET_TYPE, labelSelector: MANAGED_SELECTOR });
  // Secrets are cached in the operator's namespace only: the operator may read Secrets only where it is granted them
  // (docs/RBAC.md); the key Secret of a LAS in another namespace is read directly.
  const secrets = cacheOwned(ctx, {
    type: SECRET_TYPE,
    namespace: ctx.operatorNamespace,
    labelSelector: MANAGED_SELECTOR,
  });
  const nodes = ctx.informers.informer<KubeObject>({ type: NODE_TYPE });
  const pods = ctx.informers.informer<KubeObject>({ type: POD_TYPE, labelSelector: `${APP_NAME_LABEL}=${LAS_APP}` });
  const gauges = new ResourceGauges(ctx.manager.metrics, SCALAR, {});
  const readLogs = options.readLogs !== false;
  const logFacts = new LasLogFactsCache({
    read: (pod, signal) => ctx.client.podLogs(pod, { container: LAS_CONTAINER, ...(signal ? { signal } : {}) }),
  });
  const podUid = (p: V1Pod) => p.metadata?.uid ?? "";

  const kind: NodeAgentKind<LAS, LASStatus> = {
    kind: "LAS",
    resources,
    daemonSets,
    owned: [daemonSets, secrets],
    caches: [resources, daemonSets, secrets, nodes, pods],
    nodes,
    render: (las) => {
      const secret = renderLasDcapSecret(las, opts);
      return secret ? [renderLasDaemonSet(las, opts), secret] : [renderLasDaemonSet(las, opts)];
    },
    observe: async (las, ds, rctx) => {
      const nodeList = nodes.list() as V1Node[];
      const podList = pods.list() as V1Pod[];
      if (readLogs) {
        const running = lasPodsOf(ds, podList).filter((p) => p.status?.phase === "Running");
        const refs = running.map((p) => ({
          uid: podUid(p),
          namespace: p.metadata?.namespace ?? "",
          name: p.metadata?.name ?? "",
        }));
        await logFacts.refresh(refs, rctx.signal);
      }
      return {
        status: deriveLasStatus(las, ds, podList, nodeList, { now: new Date(), logFacts: (uid) => logFacts.get(uid) }),
        nodePatches: planLasNodeLabels(nodeList, lasNodeHealth(observeLasNodes(ds, podList, nodeList))),
      };
    },
    failedStatus: (las, conditions) => ({
      ...las.status,
      state: "UNHEALTHY",
      version: las.status?.version ?? "",
      conditions,
    }),
    removeNodeLabels: (all) => planLasNodeLabels(all, new Map(), true),
    setGauges: (las, status) => gauges.set(las, metricValues(status)),
    removeGauges: (name) => gauges.remove(name),
    requeueAfterMs: (_las, status, ds) => {
      if (status.state !== "HEALTHY") return RECHECK_MS;
      // Keys show in the log a while after start; look again now and then (reads only).
      const uids = lasPodsOf(ds, pods.list() as V1Pod[]).map(podUid);
      return readLogs && logFacts.missingKeys(uids) ? KEY_RECHECK_MS : undefined;
    },
  };

  const { controller, enqueueAll } = registerNodeAgent(ctx, "las", kind, LAS_TYPE);
  pods.addHandlers({ add: enqueueAll, update: enqueueAll, delete: enqueueAll });
  return controller;
}
