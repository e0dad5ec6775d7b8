// The long-lived SCONE CLI pod of one CAS (pure; the pod source is the I/O shell): what it looks like, and which of
// the pods found by label to use, wait for or replace. The pod runs the `sconecli` image (SCONE-INTERFACE §10.1)
// idle; commands reach it by exec (runner.ts's PodCliRunner). It holds no owner state: the owner's config travels
// in per call. The operator's own identity comes from a Secret, copied at start into a private tmpfs directory
// because the CLI writes its config (cas_db) and a Secret volume is read-only.
import { createHash } from "node:crypto";
import type { V1LocalObjectReference, V1Pod, V1Secret } from "@kubernetes/client-node";
import { APP_COMPONENT_LABEL, APP_INSTANCE_LABEL, APP_NAME_LABEL } from "../../operator/cas/names.ts";
import { MANAGED_BY, MANAGED_BY_LABEL } from "../../operator/reconcile-kit.ts";

export const SCONECLI_APP = "sconecli";
export const CLI_CONTAINER = "sconecli";
/** The CLI in the image (CLI §1 [crate: pub/engine.rs]). */
export const CLI_BINARY = "/opt/scone/bin/rust-cli";
/** A tmpfs: per-call directories and the operator's working config; nothing on the node's disk. */
export const CLI_TMP = "/tmp";
export const OPERATOR_CONFIG_DIR = `${CLI_TMP}/operator`;
export const OPERATOR_CONFIG_IN_POD = `${OPERATOR_CONFIG_DIR}/config.json`;
const IDENTITY_MOUNT = "/etc/scone-operator-identity";
/** Written when the start-up copy is done; the readiness probe reads it, so exec never races the copy. */
const READY_FILE = `${CLI_TMP}/.sconecli-ready`;
export const SPEC_HASH_ANNOTATION = "cas.scone.cloud/sconecli-spec";
/** Key of the operator identity Secret: the operator's CLI config (CLI §7). */
export const IDENTITY_KEY = "config.json";
/** Non-root, as upstream runs the sconecli container (`--user $(id -u):$(id -g)`, CLI §1 docker fallback). */
const CLI_UID = 1000;

export const cliPodPrefix = (cas: string) => `${cas}-sconecli-`;
export const operatorIdentitySecretName = (cas: string) => `${cas}-sconecli-operator`;

/** The labels that find a CAS's CLI pod. Never casSelector's: the CAS Service must not route to the CLI pod. */
export const cliPodLabels = (cas: string): Record<string, string> => ({
  [APP_NAME_LABEL]: SCONECLI_APP,
  [APP_INSTANCE_LABEL]: cas,
  [APP_COMPONENT_LABEL]: "cli",
  [MANAGED_BY_LABEL]: MANAGED_BY,
});
export const cliPodSelector = (cas: string): string => `${APP_NAME_LABEL}=${SCONECLI_APP},${APP_INSTANCE_LABEL}=${cas}`;

/** The CAS as the pod needs it: read from the API server (its uid makes it the pod's owner). */
export interface CliPodOwner {
  readonly apiVersion: string;
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly imagePullSecrets?: readonly V1LocalObjectReference[];
}

const ownerRef = (cas: CliPodOwner) => [
  // GC removes the pod and the identity Secret with the CAS. No blockOwnerDeletion: a CLI user creating the pod
  // need not hold update on cas/finalizers.
  { apiVersion: cas.apiVersion, kind: "CAS", name: cas.name, uid: cas.uid, controller: true },
];

// The copy runs as the container's command: umask 077 makes the directory 0700 and the file 0600.
const START = [
  "umask 077",
  `mkdir -p ${OPERATOR_CONFIG_DIR}`,
  `if [ -f ${IDENTITY_MOUNT}/${IDENTITY_KEY} ]; then cat ${IDENTITY_MOUNT}/${IDENTITY_KEY} > ${OPERATOR_CONFIG_IN_POD}; fi`,
  `: > ${READY_FILE}`,
  // Idle until deleted; the exec calls do the work.
  "exec sleep 2147483647",
].join(" && ");

/**
 * The pod a process creates. Its placement (`nodeSelector`, from --cli-node-selector) is left out of the spec hash:
 * a process that finds a Ready pod of the same image and spec uses it wherever it runs, so the operator and a
 * laptop CLI with different selectors share one pod per CAS instead of replacing each other's. A selector places
 * only the pods its process creates.
 */
export function renderCliPod(cas: CliPodOwner, image: string, nodeSelector?: Readonly<Record<string, string>>): V1Pod {
  const spec: V1Pod["spec"] = {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    restartPolicy: "Always",
    terminationGracePeriodSeconds: 1,
    ...(cas.imagePullSecrets?.length ? { imagePullSecrets: [...cas.imagePullSecrets] } : {}),
    // Like a DaemonSet's pods, the CLI pod tolerates a cordon: administering a CAS (evicting it off a node being
    // drained, say) must stay possible on the nodes --cli-node-selector names while they are cordoned. A drain
    // still evicts it; the next call creates another.
    tolerations: [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" }],
    securityContext: {
      runAsNonRoot: true,
      runAsUser: CLI_UID,
      runAsGroup: CLI_UID,
      // The identity Secret's file is root-owned: readable to the CLI user through its group only (0440).
      fsGroup: CLI_UID,
      seccompProfile: { type: "RuntimeDefault" },
    },
    containers: [
      {
        name: CLI_CONTAINER,
        image,
        imagePullPolicy: "IfNotPresent",
        command: ["sh", "-c", START],
        env: [{ name: "HOME", value: CLI_TMP }],
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        },
        readinessProbe: { exec: { command: ["cat", READY_FILE] }, periodSeconds: 1, failureThreshold: 1 },
        resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "256Mi" } },
        volumeMounts: [
          { name: "tmp", mountPath: CLI_TMP },
          { name: "operator-identity", mountPath: IDENTITY_MOUNT, readOnly: true },
        ],
      },
    ],
    volumes: [
      { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
      {
        name: "operator-identity",
        // Optional: the first pod of a CAS starts before the operator has an identity there (the pod source
        // creates the Secret from the config the CLI made on first use).
        secret: {
          secretName: operatorIdentitySecretName(cas.name),
          optional: true,
          defaultMode: 0o440,
          items: [{ key: IDENTITY_KEY, path: IDENTITY_KEY, mode: 0o440 }],
        },
      },
    ],
  };
  const hash = createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 16);
  // The CLI needs no SGX: any node, unless the caller confines it (e.g. to nodes that run containers for real).
  const placement = nodeSelector && Object.keys(nodeSelector).length > 0 ? { nodeSelector: { ...nodeSelector } } : {};
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: cliPodPrefix(cas.name),
      namespace: cas.namespace,
      labels: cliPodLabels(cas.name),
      annotations: { [SPEC_HASH_ANNOTATION]: hash },
      ownerReferences: ownerRef(cas),
    },
    spec: { ...placement, ...spec },
  };
}

/** The operator identity Secret, from the config the CLI created in the pod. */
export function renderIdentitySecret(cas: CliPodOwner, config: Uint8Array): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: {
      name: operatorIdentitySecretName(cas.name),
      namespace: cas.namespace,
      labels: cliPodLabels(cas.name),
      ownerReferences: ownerRef(cas),
    },
    data: { [IDENTITY_KEY]: Buffer.from(config).toString("base64") },
  };
}

export const isPodReady = (pod: V1Pod): boolean =>
  pod.metadata?.deletionTimestamp === undefined &&
  pod.status?.phase === "Running" &&
  (pod.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

export type PodChoice =
  /** Ready and current: exec into it. */
  | { readonly kind: "use"; readonly pod: V1Pod; readonly remove: readonly V1Pod[] }
  /** Current, starting: wait for it to become Ready. */
  | { readonly kind: "wait"; readonly pod: V1Pod; readonly remove: readonly V1Pod[] }
  /** None usable: create one (after removing the others). */
  | { readonly kind: "create"; readonly remove: readonly V1Pod[] };

/**
 * Which pod to use among those found by label: a Ready one with the wanted spec (the newest if several); else one
 * still starting with that spec and younger than `startTimeoutMs`; else a new one. Every other pod is removed:
 * finished, failing to start, terminating, or of an older spec (another image after an upgrade).
 */
export function choosePod(pods: readonly V1Pod[], specHash: string, now: number, startTimeoutMs: number): PodChoice {
  const current = (p: V1Pod) =>
    p.metadata?.annotations?.[SPEC_HASH_ANNOTATION] === specHash && p.metadata?.deletionTimestamp === undefined;
  const created = (p: V1Pod) => new Date(p.metadata?.creationTimestamp ?? now).getTime() || now;
  const newestFirst = [...pods].sort((a, b) => created(b) - created(a));
  const others = (keep: V1Pod) => newestFirst.filter((p) => p !== keep && p.metadata?.deletionTimestamp === undefined);
  const ready = newestFirst.find((p) => current(p) && isPodReady(p));
  if (ready) return { kind: "use", pod: ready, remove: others(ready) };
  // Pending, or Running before its readiness probe passed: young enough and not stuck, it is worth the wait.
  const starting = newestFirst.find(
    (p) =>
      current(p) &&
      ["Pending", "Running"].includes(p.status?.phase ?? "Pending") &&
      now - created(p) < startTimeoutMs &&
      !stuck(p),
  );
  if (starting) return { kind: "wait", pod: starting, remove: others(starting) };
  return { kind: "create", remove: newestFirst.filter((p) => p.metadata?.deletionTimestamp === undefined) };
}

/** A container that cannot start (bad image, crash loop): waiting longer will not help. */
export function stuck(pod: V1Pod): boolean {
  const reasons = ["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CrashLoopBackOff", "CreateContainerError"];
  return (pod.status?.containerStatuses ?? []).some((c) => reasons.includes(c.state?.waiting?.reason ?? ""));
}

/** Why a pod is not usable, for the error when it never becomes Ready. */
export function podProblem(pod: V1Pod): string {
  const waiting = (pod.status?.containerStatuses ?? []).map((c) => c.state?.waiting).find((w) => w?.reason);
  if (waiting) return `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}`;
  return `phase ${pod.status?.phase ?? "Pending"}${isPodReady(pod) ? "" : ", not Ready"}`;
}

/**
 * Why a pod found by the CLI pod's labels is not one a source made, or undefined when it is. Labels and the spec
 * annotation can be written by anyone who may create pods in the CAS's namespace; what matters is what the pod
 * runs, since the owner's config travels into it. So every field renderCliPod sets must hold in the live pod (the
 * API server only adds defaults elsewhere), and nothing may run beside the CLI container: no init or ephemeral
 * containers, no host namespaces, no service-account token.
 */
export function impostorReason(live: V1Pod, want: V1Pod): string | undefined {
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  const subset = (wanted: object | undefined, got: object | undefined): boolean =>
    Object.entries(wanted ?? {}).every(([k, v]) => same(v, (got as Record<string, unknown> | undefined)?.[k]));
  const ls = live.spec;
  const ws = want.spec;
  if (!ls || !ws) return "no spec";
  if (
    !(live.metadata?.ownerReferences ?? []).some(
      (r) => r.controller && same(ownerRefKey(r), ownerRefKey(want.metadata?.ownerReferences?.[0])),
    )
  )
    return "not controlled by this CAS";
  if (ls.initContainers?.length || ls.ephemeralContainers?.length) return "it runs other containers";
  if (ls.hostNetwork || ls.hostPID || ls.hostIPC) return "it uses a host namespace";
  if (ls.automountServiceAccountToken !== false) return "it mounts a service-account token";
  if (!subset(ws.securityContext, ls.securityContext)) return "its pod security context differs";
  const [lc, ...extra] = ls.containers ?? [];
  const wc = ws.containers[0];
  if (!lc || !wc || extra.length > 0) return "it does not run exactly the CLI container";
  const container = (c: typeof wc) => ({
    name: c.name,
    image: c.image,
    command: c.command,
    args: c.args?.length ? c.args : undefined,
    env: c.env,
    envFrom: c.envFrom,
    mounts: (c.volumeMounts ?? []).map((m) => [m.name, m.mountPath, m.readOnly === true, m.subPath ?? ""]),
  });
  if (!same(container(lc), container(wc))) return "its container differs (image, command, environment or mounts)";
  if (!subset(wc.securityContext, lc.securityContext)) return "its container security context differs";
  const volume = (v: NonNullable<typeof ls.volumes>[number]) => ({
    name: v.name,
    emptyDir: v.emptyDir ? { medium: v.emptyDir.medium ?? "" } : undefined,
    secret: v.secret ? { secretName: v.secret.secretName } : undefined,
    other: Object.keys(v).filter((k) => !["name", "emptyDir", "secret"].includes(k)),
  });
  if (!same((ls.volumes ?? []).map(volume), (ws.volumes ?? []).map(volume))) return "its volumes differ";
  return undefined;
}

const ownerRefKey = (r: { apiVersion?: string; kind?: string; name?: string; uid?: string } | undefined) =>
  r ? [r.apiVersion, r.kind, r.name, r.uid] : undefined;
