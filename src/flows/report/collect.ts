// Reads what a `scone cas report` bundle holds from the cluster (thin I/O; selection, bounds and redaction are
// bundle.ts's and redact.ts's). What cannot be read (a kind this user may not list, a node that serves no logs)
// becomes a note in the bundle, not a failure: a support bundle is most needed when things are broken.
import type { CoreV1Event, V1Pod, V1Secret } from "@kubernetes/client-node";
import { DEFAULT_NAMESPACE } from "../../install/names.ts";
import type { KubeClient } from "../../kube/client.ts";
import { ForbiddenError } from "../../kube/errors.ts";
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import { names } from "../../operator/cas/names.ts";
import { APP_INSTANCE_LABEL } from "../../operator/kit/labels.ts";
import { SCONE_VERSION } from "../../version.ts";
import { type CasId, casRef, observeCas } from "../status/observe.ts";
import { buildStatusReport, formatStatusReport } from "../status/report.ts";
import { OPERATOR_SELECTOR, observeClusterVersions } from "../versions/observe.ts";
import { skewWarnings } from "../versions/skew.ts";
import { LOG_FETCH_BYTES, LOG_TAIL_LINES, type LogCapture, type ReportInput } from "./bundle.ts";
import { secretValuesOf } from "./redact.ts";

export type ReportKube = Pick<
  KubeClient,
  "get" | "tryGet" | "list" | "podLogs" | "patch" | "delete" | "create" | "apply" | "serverVersion"
>;

/** The kinds a CAS's objects come in (src/operator/cas/names.ts), listed by the instance label. */
export const CAS_OBJECT_TYPES: readonly TypeRef[] = [
  { apiVersion: "apps/v1", kind: "StatefulSet" },
  { apiVersion: "apps/v1", kind: "Deployment" },
  { apiVersion: "apps/v1", kind: "ReplicaSet" },
  { apiVersion: "v1", kind: "Pod" },
  { apiVersion: "v1", kind: "Service" },
  { apiVersion: "v1", kind: "PersistentVolumeClaim" },
  { apiVersion: "v1", kind: "ConfigMap" },
  { apiVersion: "v1", kind: "ServiceAccount" },
  { apiVersion: "policy/v1", kind: "PodDisruptionBudget" },
  { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding" },
];

export interface CollectOptions {
  /** --logs-since: only log lines newer than this many seconds. */
  readonly sinceSeconds?: number;
  /** The operator's reconciles of this CAS, when a state store holds them. */
  readonly history?: unknown;
  readonly now?: () => Date;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Whether a pod's container restarted, so its previous run's log is worth asking for. */
function restarted(pod: V1Pod, container: string): boolean {
  const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
  return (statuses.find((s) => s.name === container)?.restartCount ?? 0) > 0;
}

async function podLogsOf(kube: ReportKube, pod: V1Pod, sinceSeconds: number | undefined): Promise<LogCapture[]> {
  const namespace = pod.metadata?.namespace ?? "";
  const name = pod.metadata?.name ?? "";
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
  const out: LogCapture[] = [];
  for (const container of containers) {
    for (const previous of restarted(pod, container) ? [false, true] : [false]) {
      try {
        // Bounded twice: what is read here (LOG_FETCH_BYTES), what goes in the bundle (bundle.ts, the newest part).
        const text = await kube.podLogs(
          { namespace, name },
          { container, previous, sinceSeconds, limitBytes: LOG_FETCH_BYTES, tailLines: LOG_TAIL_LINES },
        );
        out.push({ namespace, pod: name, container, previous, text });
      } catch (err) {
        out.push({ namespace, pod: name, container, previous, error: message(err) });
      }
    }
  }
  return out;
}

export async function collectReport(kube: ReportKube, id: CasId, options: CollectOptions = {}): Promise<ReportInput> {
  const notes: string[] = [];
  const cas = await kube.tryGet<KubeObject>(casRef(id));
  if (!cas) throw new Error(`CAS ${id.namespace}/${id.name} not found`);

  const candidates: KubeObject[] = [];
  await Promise.all(
    CAS_OBJECT_TYPES.map(async (type) => {
      try {
        const list = await kube.list<KubeObject>(type, {
          namespace: id.namespace,
          labelSelector: `${APP_INSTANCE_LABEL}=${id.name}`,
        });
        candidates.push(...list.items);
      } catch (err) {
        notes.push(`${type.kind}s not listed: ${message(err)}`);
      }
    }),
  );
  const n = names(id.name);
  const ownedByName = [
    { kind: "PersistentVolumeClaim", name: n.databasePvc },
    { kind: "PersistentVolumeClaim", name: n.snapshotsPvc },
  ];

  let operatorPods: V1Pod[] = [];
  try {
    operatorPods = (await kube.list<V1Pod>({ apiVersion: "v1", kind: "Pod" }, { labelSelector: OPERATOR_SELECTOR }))
      .items;
  } catch (err) {
    if (!(err instanceof ForbiddenError)) notes.push(`operator pods not listed: ${message(err)}`);
    else {
      const inDefault = await kube
        .list<V1Pod>(
          { apiVersion: "v1", kind: "Pod" },
          { namespace: DEFAULT_NAMESPACE, labelSelector: OPERATOR_SELECTOR },
        )
        .catch((e: unknown) => {
          notes.push(`operator pods not listed: ${message(e)}`);
          return { items: [] };
        });
      operatorPods = inDefault.items;
    }
  }
  if (operatorPods.length === 0) notes.push("no scone operator pod found in the cluster: no operator logs");

  let events: CoreV1Event[] = [];
  try {
    events = (await kube.list<CoreV1Event>({ apiVersion: "v1", kind: "Event" }, { namespace: id.namespace })).items;
  } catch (err) {
    notes.push(`Events not listed: ${message(err)}`);
  }

  // Logs of every pod of the CAS (cas, audit, backup controller, safety service) and of the operator.
  const ownedPods = candidates.filter((o): o is V1Pod => o.kind === "Pod");
  const logs: LogCapture[] = [];
  for (const pod of [...ownedPods, ...operatorPods]) logs.push(...(await podLogsOf(kube, pod, options.sinceSeconds)));

  let versions: unknown;
  try {
    const cluster = await observeClusterVersions(kube, operatorPods[0]?.metadata?.namespace);
    versions = {
      client: SCONE_VERSION,
      ...cluster,
      warnings: skewWarnings(SCONE_VERSION, cluster.operators, cluster.crds),
    };
  } catch (err) {
    versions = { client: SCONE_VERSION };
    notes.push(`cluster versions not read: ${message(err)}`);
  }

  let status: string;
  try {
    status = formatStatusReport(buildStatusReport(id, await observeCas(kube, id), [], []));
  } catch (err) {
    status = `status not computed: ${message(err)}\n`;
  }

  // Secrets are read only to scrub their values from the bundle; none of them is ever written.
  const secretNamespaces = [...new Set([id.namespace, ...operatorPods.map((p) => p.metadata?.namespace ?? "")])];
  const secrets: V1Secret[] = [];
  for (const namespace of secretNamespaces.filter(Boolean)) {
    try {
      secrets.push(...(await kube.list<V1Secret>({ apiVersion: "v1", kind: "Secret" }, { namespace })).items);
    } catch (err) {
      notes.push(
        `Secrets of ${namespace} not readable (${message(err)}): their values could not be scrubbed from logs and Events`,
      );
    }
  }

  return {
    namespace: id.namespace,
    name: id.name,
    createdAt: (options.now?.() ?? new Date()).toISOString(),
    cas,
    candidates,
    ownedByName,
    operatorPods,
    events,
    logs,
    versions,
    status,
    history: options.history,
    secretValues: secretValuesOf(secrets),
    notes,
  };
}
