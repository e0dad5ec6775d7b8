// The LAS DaemonSet (and the Secret holding the DCAP API key) of a LAS resource (pure; golden-tested).
// One LAS pod per SGX node: the LAS container serves on the node's hostPort, the probe container runs
// `scone las probe` as its readiness check, so a pod is Ready only when LAS answers and attestation works.
// Replaced one node at a time (maxUnavailable 1): a node without LAS cannot attest for that moment only.
import type { V1Container, V1DaemonSet, V1EnvVar, V1Secret, V1Toleration } from "@kubernetes/client-node";
import { lasWebhookDefaults } from "../../resources/defaults.ts";
import type { LAS } from "../../resources/las.ts";
import { desiredHash } from "../../runtime/drift.ts";
import { canonicalResources } from "../../runtime/quantity.ts";
import { APP_INSTANCE_LABEL, APP_NAME_LABEL } from "../kit/labels.ts";
import { compact, type RenderOptions } from "../kit/render.ts";
import { agentDaemonSet } from "../node-agent/daemonset.ts";

export type { RenderOptions } from "../kit/render.ts";

export const LAS_DAEMONSET = "las";
export const LAS_APP = "las";
export const LAS_CONTAINER = "las";
export const PROBE_CONTAINER = "probe";
/** Port LAS listens on inside the pod; spec.hostPort maps the node's port onto it. */
export const LAS_CONTAINER_PORT = 18766;
export const DEFAULT_LAS_HOST_PORT = 18766;
export const DCAP_KEY_SECRET = "las-dcap-key";
export const DCAP_KEY_SECRET_KEY = "dcapKey";
/** Changes when the DCAP key changes, so the pods restart and read the new key (the key itself is not in it). */
export const DCAP_KEY_HASH_ANNOTATION = "base.scone.cloud/dcap-key-hash";

export const lasNamespace = (las: LAS, opts: RenderOptions): string => las.spec?.namespace || opts.operatorNamespace;

const DEFAULT_CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
};
const DEFAULT_POD_SECURITY = { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };

/** The Secret with the DCAP API key, or undefined when the LAS sets no key. */
export function renderLasDcapSecret(las: LAS, opts: RenderOptions): V1Secret | undefined {
  const key = las.spec?.dcapKey;
  if (!key) return undefined;
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: DCAP_KEY_SECRET,
      namespace: lasNamespace(las, opts),
      labels: { [APP_NAME_LABEL]: LAS_APP, [APP_INSTANCE_LABEL]: las.metadata.name ?? "" },
    },
    type: "Opaque",
    // `data`, not `stringData`: the API server stores data only, and the drift check compares with what it stores.
    data: { [DCAP_KEY_SECRET_KEY]: Buffer.from(key).toString("base64") },
  };
}

export function renderLasDaemonSet(las: LAS, opts: RenderOptions): V1DaemonSet {
  const { spec = {} } = lasWebhookDefaults(las, opts);
  const name = las.metadata.name ?? "";
  const image = spec.image ?? "";
  const imagePullPolicy = spec.imagePullPolicy ?? "Always";
  const dcapEnv: V1EnvVar[] = spec.dcapKey
    ? [
        {
          name: "SCONE_DCAP_API_KEY",
          valueFrom: { secretKeyRef: { name: DCAP_KEY_SECRET, key: DCAP_KEY_SECRET_KEY } },
        },
      ]
    : [];
  const las_: V1Container = {
    name: LAS_CONTAINER,
    image,
    imagePullPolicy,
    ports: [
      {
        name: "las",
        containerPort: LAS_CONTAINER_PORT,
        hostPort: spec.hostPort ?? DEFAULT_LAS_HOST_PORT,
        protocol: "TCP",
      },
    ],
    ...compact({ env: dcapEnv }),
    resources: canonicalResources(spec.resources ?? {}) as V1Container["resources"],
    securityContext: spec.containerSecurityContextLAS ?? DEFAULT_CONTAINER_SECURITY,
    readinessProbe: { tcpSocket: { port: LAS_CONTAINER_PORT }, periodSeconds: 10, failureThreshold: 3 },
    livenessProbe: { tcpSocket: { port: LAS_CONTAINER_PORT }, initialDelaySeconds: 30, periodSeconds: 30 },
  };
  // The probe asks this pod's LAS (SCONE_LAS_ADDR: the pod shares one network namespace) for a quote.
  const probeCommand = ["scone las probe --las --dcap", spec.dcapKey ? '--dcap-api-key "$SCONE_DCAP_API_KEY"' : ""]
    .filter(Boolean)
    .join(" ");
  const probe: V1Container = {
    name: PROBE_CONTAINER,
    image,
    imagePullPolicy,
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"],
    env: [{ name: "SCONE_LAS_ADDR", value: `127.0.0.1:${LAS_CONTAINER_PORT}` }, ...dcapEnv],
    securityContext: spec.containerSecurityContextProbe ?? DEFAULT_CONTAINER_SECURITY,
    readinessProbe: {
      exec: { command: ["/bin/sh", "-c", probeCommand] },
      initialDelaySeconds: 10,
      periodSeconds: 60,
      timeoutSeconds: 30,
      failureThreshold: 2,
    },
  };
  const annotations = {
    ...spec.podAnnotations,
    ...(spec.dcapKey ? { [DCAP_KEY_HASH_ANNOTATION]: desiredHash(spec.dcapKey) } : {}),
  };
  return agentDaemonSet({
    name: LAS_DAEMONSET,
    namespace: lasNamespace(las, opts),
    app: LAS_APP,
    instance: name,
    component: "local-attestation",
    rollingUpdate: { maxUnavailable: 1 },
    podAnnotations: annotations,
    podSpec: {
      nodeSelector: spec.nodeSelector ?? {},
      ...compact({
        tolerations: spec.tolerations as V1Toleration[] | undefined,
        imagePullSecrets: spec.imagePullSecrets,
      }),
      securityContext: spec.podSecurityContext ?? DEFAULT_POD_SECURITY,
      containers: [las_, probe],
    },
  });
}
