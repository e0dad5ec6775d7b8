// What a CAS runs (pure; golden-tested): the StatefulSet with one pod NAME-0 (containers `cas` and `audit`), its
// cas.toml ConfigMap, the Service, the PodDisruptionBudget that keeps drains from evicting CAS silently, and the
// optional NetworkPolicy. Volumes and mounts follow §3.3; the database PVC database-NAME-0 comes from the
// StatefulSet's volumeClaimTemplate and is retained when the StatefulSet goes (it holds every secret).
import type {
  V1ConfigMap,
  V1Container,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1PersistentVolumeClaim,
  V1PodDisruptionBudget,
  V1PodSecurityContext,
  V1Probe,
  V1SecurityContext,
  V1Service,
  V1ServicePort,
  V1StatefulSet,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import type { CAS } from "../../resources/cas.ts";
import { APP_INSTANCE_LABEL } from "../kit/labels.ts";
import { compact } from "../kit/render.ts";
import {
  APP_COMPONENT_LABEL,
  AUDIT_CONTAINER,
  AUDIT_LOG_DIR,
  AUDIT_LOG_FILE,
  CAS_CONTAINER,
  casSelector,
  DATABASE_VOLUME,
  names,
  SNAPSHOTS_VOLUME,
} from "./names.ts";
import { type CasSettings, casSettings, type ProbeSettings, type RenderOptions } from "./settings.ts";

export type { RenderOptions } from "./settings.ts";

/** Decisions the controller makes on top of the spec: which images run now, and where CAS may be placed. */
export interface CasRenderPlan {
  readonly casImage: string;
  readonly backupControllerImage: string;
  readonly safetyServiceImage: string;
  /** Nodes CAS is pinned to after it had to leave its node (see nodes.ts); undefined = anywhere it fits. */
  readonly placement?: readonly string[];
}

export const desiredPlan = (s: CasSettings): CasRenderPlan => ({
  casImage: s.image,
  backupControllerImage: s.backupController.image,
  safetyServiceImage: s.safetyService.image,
});

const CONFIG_KEY = "cas.toml";
const CONFIG_PATH = "/etc/cas/cas.toml";
const HEALTHCHECK_DIR = "/tmp/healthcheck";

const DEFAULT_CAS_SECURITY: V1SecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { add: ["SYS_RAWIO"], drop: ["ALL"] },
};
const DEFAULT_AUDIT_SECURITY: V1SecurityContext = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };

/** 5.8.x CAS images run as root; from 5.9 they run as non-root and need fsGroup 1000 for the volumes (§3.1). */
export function defaultPodSecurity(image: string): V1PodSecurityContext {
  const tag = image.slice(image.lastIndexOf("/") + 1).split(":")[1] ?? "";
  if (/^5\.8\./.test(tag)) return { runAsNonRoot: false, seccompProfile: { type: "RuntimeDefault" } };
  return { runAsNonRoot: true, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } };
}

export const casLabels = (name: string): Record<string, string> => ({
  ...casSelector(name),
  [APP_COMPONENT_LABEL]: "configuration-and-attestation",
  "app.kubernetes.io/part-of": "scone",
});

/** cas.toml when spec.configuration is empty: the availability config of §12.2 with this CAS's paths and ports. */
export function defaultCasToml(s: CasSettings): string {
  return [
    "[database]",
    `path = "${s.database.mountPath}/cas.db"`,
    "",
    "[api]",
    `api_listen = "0.0.0.0:${s.clientPort}"`,
    `enclave_listen = "0.0.0.0:${s.enclavePort}"`,
    "",
  ].join("\n");
}

export function renderCasConfigMap(cas: CAS, opts: RenderOptions): V1ConfigMap {
  const s = casSettings(cas, opts);
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: names(s.name).configMap, namespace: s.namespace, labels: casLabels(s.name) },
    data: { [CONFIG_KEY]: s.spec.configuration ? s.spec.configuration : defaultCasToml(s) },
  };
}

/**
 * The liveness/startup check: a TCP connect to the CAS client port (the `client` container port, 8081 by default:
 * SCONE-INTERFACE §3.3, §13). Upstream's probes are SCONE CLI operations (§3.1 attestedCLIProbes), but their commands
 * are not public (§14), nor that the cas image ships a CLI, and the one a guess would use (`scone cas attest
 * --only_for_testing-trust-any`) is for debug-mode CASes only (CLI §4): scone checks only what is documented — that
 * CAS listens on its port — and leaves attestation to the operator's probe (driver-probe.ts), which attests through
 * the SCONE CLI. spec.attestedCLIProbes therefore changes nothing here (sim/README.md, row cas-probes).
 */
const casProbe = (p: ProbeSettings): V1Probe => ({
  tcpSocket: { port: "client" },
  failureThreshold: p.failureThreshold,
  initialDelaySeconds: p.initialDelaySeconds,
  periodSeconds: p.periodSeconds,
  timeoutSeconds: p.timeoutSeconds,
});

// No environment for the cas container: how the CAS image would read spec.databaseSnapshots, spec.edmmMode or
// spec.enclaveMetrics is not public (SCONE-INTERFACE §14), so scone invents no variable for them (sim/README.md, row
// cas-settings). The snapshot volume is mounted at targetDirectory and the metrics port is exposed (§3.3).

const claimTemplate = (
  name: string,
  v: { size: string | number; storageClass: string; accessModes: readonly string[] },
  labels: Record<string, string>,
): V1PersistentVolumeClaim => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name, labels },
  spec: {
    accessModes: [...v.accessModes],
    resources: { requests: { storage: String(v.size) } },
    // "" = the cluster's default class: leave the field out so the DefaultStorageClass admission fills it in.
    ...(v.storageClass ? { storageClassName: v.storageClass } : {}),
  },
});

/** Node affinity pinning CAS to the nodes it may move to (by node name: matchFields metadata.name). */
const placementAffinity = (nodes: readonly string[]) => ({
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [...nodes] }] }],
    },
  },
});

export function renderCasStatefulSet(cas: CAS, opts: RenderOptions, plan?: CasRenderPlan): V1StatefulSet {
  const s = casSettings(cas, opts);
  const p = plan ?? desiredPlan(s);
  const n = names(s.name);
  const labels = casLabels(s.name);
  const selector = casSelector(s.name);

  const mounts: V1VolumeMount[] = [
    { name: "config", mountPath: CONFIG_PATH, subPath: CONFIG_KEY, readOnly: true },
    { name: DATABASE_VOLUME, mountPath: s.database.mountPath },
    { name: "healthcheck", mountPath: HEALTHCHECK_DIR },
    { name: "audit-log", mountPath: AUDIT_LOG_DIR },
    ...(s.snapshots.enabled ? [{ name: SNAPSHOTS_VOLUME, mountPath: s.snapshots.targetDirectory }] : []),
  ];
  const volumes: V1Volume[] = [
    { name: "config", configMap: { name: n.configMap, items: [{ key: CONFIG_KEY, path: CONFIG_KEY }] } },
    ...(s.database.enabled ? [] : [{ name: DATABASE_VOLUME, emptyDir: {} }]),
    { name: "healthcheck", emptyDir: {} },
    { name: "audit-log", emptyDir: {} },
    ...(s.snapshots.enabled && !s.snapshots.persistence.enabled ? [{ name: SNAPSHOTS_VOLUME, emptyDir: {} }] : []),
  ];
  const claims: V1PersistentVolumeClaim[] = [
    ...(s.database.enabled ? [claimTemplate(DATABASE_VOLUME, s.database, selector)] : []),
    ...(s.snapshots.enabled && s.snapshots.persistence.enabled
      ? [claimTemplate(SNAPSHOTS_VOLUME, s.snapshots.persistence, selector)]
      : []),
  ];

  const ports = [
    { name: "client", containerPort: s.clientPort, protocol: "TCP" },
    { name: "enclave", containerPort: s.enclavePort, protocol: "TCP" },
    ...(s.spec.enclaveMetrics?.enabled
      ? [{ name: "metrics", containerPort: s.spec.enclaveMetrics.port ?? 8080, protocol: "TCP" }]
      : []),
  ];
  const casContainer: V1Container = {
    name: CAS_CONTAINER,
    image: p.casImage,
    imagePullPolicy: s.imagePullPolicy,
    ports,
    resources: s.spec.resources as V1Container["resources"],
    securityContext: (s.spec.containerSecurityContextCAS as V1SecurityContext | undefined) ?? DEFAULT_CAS_SECURITY,
    volumeMounts: mounts,
    ...(s.liveness.enabled ? { livenessProbe: casProbe(s.liveness) } : {}),
    ...(s.startup.enabled ? { startupProbe: casProbe(s.startup) } : {}),
  };
  // `kubectl logs NAME-0 -c audit` (and `kubectl audit cas`) stream the audit log through this container.
  const auditContainer: V1Container = {
    name: AUDIT_CONTAINER,
    image: p.casImage,
    imagePullPolicy: s.imagePullPolicy,
    // -F waits for the file CAS creates and follows it across rotation.
    command: ["tail", "-n", "+1", "-F", AUDIT_LOG_FILE],
    securityContext: (s.spec.containerSecurityContextAudit as V1SecurityContext | undefined) ?? DEFAULT_AUDIT_SECURITY,
    volumeMounts: [{ name: "audit-log", mountPath: AUDIT_LOG_DIR, readOnly: true }],
  };

  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: n.statefulSet, namespace: s.namespace, labels },
    spec: {
      replicas: 1,
      serviceName: n.service,
      selector: { matchLabels: selector },
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate" },
      // The database outlives the StatefulSet: deleting the CAS must not delete its secrets.
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
      template: {
        metadata: { labels, ...compact({ annotations: s.spec.podAnnotations }) },
        spec: {
          nodeSelector: s.spec.nodeSelector ?? {},
          ...compact({
            tolerations: s.spec.tolerations as V1Toleration[] | undefined,
            imagePullSecrets: s.spec.imagePullSecrets,
          }),
          ...(p.placement ? { affinity: placementAffinity(p.placement) } : {}),
          securityContext:
            (s.spec.podSecurityContext as V1PodSecurityContext | undefined) ?? defaultPodSecurity(p.casImage),
          containers: [casContainer, auditContainer],
          volumes,
        },
      },
      ...compact({ volumeClaimTemplates: claims }),
    },
  };
}

export function renderCasService(cas: CAS, opts: RenderOptions): V1Service {
  const s = casSettings(cas, opts);
  const svc = s.spec.service ?? {};
  const type = svc.type ?? "ClusterIP";
  const exposed = type === "NodePort" || type === "LoadBalancer";
  const port = (name: string, value: number, nodePort: number | undefined): V1ServicePort => ({
    name,
    port: value,
    targetPort: name,
    protocol: "TCP",
    ...(exposed && nodePort ? { nodePort } : {}),
  });
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: names(s.name).service,
      namespace: s.namespace,
      labels: casLabels(s.name),
      ...compact({ annotations: svc.annotations }),
    },
    spec: {
      type,
      selector: casSelector(s.name),
      ports: [
        port("client", s.clientPort, svc.nodePorts?.clientPort),
        port("enclave", s.enclavePort, svc.nodePorts?.enclavePort),
      ],
      ...(type === "LoadBalancer" && svc.loadBalancerIP ? { loadBalancerIP: svc.loadBalancerIP } : {}),
    },
  };
}

/** maxUnavailable 0: a drain blocks on CAS instead of evicting it; moving CAS is an explicit step (`scone cas evict`). */
export function renderCasPodDisruptionBudget(cas: CAS, opts: RenderOptions): V1PodDisruptionBudget {
  const s = casSettings(cas, opts);
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: names(s.name).podDisruptionBudget, namespace: s.namespace, labels: casLabels(s.name) },
    spec: { maxUnavailable: 0, selector: { matchLabels: casSelector(s.name) } },
  };
}

/** NetworkPolicy as the API server spells it (client-node's model renames `from` to `_from`). */
export type NetworkPolicy = Omit<V1NetworkPolicy, "spec"> & {
  spec: {
    podSelector: { matchLabels?: Record<string, string> };
    policyTypes: string[];
    ingress: { from: V1NetworkPolicyPeer[]; ports: { port: number; protocol: string }[] }[];
  };
};

/**
 * Ingress to the CAS ports only from pods matching ingressPodMatchLabels in namespaces matching ingressNSMatchLabels
 * (both given: both must match; one given: that one; none: this namespace), plus this CAS's own companions
 * (backup controller, safety service), which must always reach it.
 */
export function renderCasNetworkPolicy(cas: CAS, opts: RenderOptions): NetworkPolicy | undefined {
  const s = casSettings(cas, opts);
  const np = s.spec.networkPolicy;
  if (!np?.enabled) return undefined;
  const nsLabels = np.ingressNSMatchLabels ?? {};
  const podLabels = np.ingressPodMatchLabels ?? {};
  const hasNs = Object.keys(nsLabels).length > 0;
  const hasPod = Object.keys(podLabels).length > 0;
  const allowed: V1NetworkPolicyPeer =
    hasNs || hasPod
      ? {
          ...(hasNs ? { namespaceSelector: { matchLabels: nsLabels } } : {}),
          ...(hasPod ? { podSelector: { matchLabels: podLabels } } : {}),
        }
      : { podSelector: {} };
  const companions: V1NetworkPolicyPeer = { podSelector: { matchLabels: { [APP_INSTANCE_LABEL]: s.name } } };
  const ports = [
    { port: s.clientPort, protocol: "TCP" },
    { port: s.enclavePort, protocol: "TCP" },
    ...(s.spec.enclaveMetrics?.enabled ? [{ port: s.spec.enclaveMetrics.port ?? 8080, protocol: "TCP" }] : []),
  ];
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: names(s.name).networkPolicy, namespace: s.namespace, labels: casLabels(s.name) },
    spec: {
      podSelector: { matchLabels: casSelector(s.name) },
      policyTypes: ["Ingress"],
      ingress: [{ from: [allowed, companions], ports }],
    },
  };
}
