// The operator's own objects: Namespace, ServiceAccount, Deployment and its Services, shaped like upstream's chart
// (SCONE-INTERFACE §1) where tooling depends on it (names, labels, ports, probes, pull secret, resources).

import type { V1Deployment, V1Namespace, V1Service, V1ServiceAccount } from "@kubernetes/client-node";
import { formatCliNodeSelector } from "../cas/driver/node-selector.ts";
import { formatImageDigests } from "../resources/defaults.ts";
import {
  CONTAINER_NAME,
  DEPLOYMENT_NAME,
  INJECT_PULL_SECRET_ANNOTATIONS,
  METRICS_PORT,
  METRICS_SERVICE_NAME,
  OPERATOR_POD_LABELS,
  OPERATOR_PULL_SECRET,
  PROBE_PORT,
  SERVICE_ACCOUNT_NAME,
  WEBHOOK_PORT,
  WEBHOOK_SERVICE_NAME,
} from "./names.ts";
import type { ResolvedInstallOptions } from "./options.ts";

/** Where the operator keeps its SQLite store (reconcile history, backup catalog, audit index). */
export const STATE_DIR = "/var/lib/scone";
/** The operator's backup directory: the default target of scheduled backups (defaultBackupLocation(STATE_DIR)). */
export const BACKUP_DIR = `${STATE_DIR}/backups`;
/** Non-root user of the operator container (the distroless "nonroot" user). */
const RUN_AS_USER = 65532;

/** The pod of scone's image (operator, API): the operator's account, non-root, default seccomp, its nodes. */
export const podSpecBase = (o: ResolvedInstallOptions) => ({
  serviceAccountName: SERVICE_ACCOUNT_NAME,
  imagePullSecrets: [{ name: OPERATOR_PULL_SECRET }],
  terminationGracePeriodSeconds: 30,
  securityContext: {
    runAsNonRoot: true,
    runAsUser: RUN_AS_USER,
    runAsGroup: RUN_AS_USER,
    fsGroup: RUN_AS_USER,
    seccompProfile: { type: "RuntimeDefault" },
  },
  ...(Object.keys(o.nodeSelector).length > 0 ? { nodeSelector: { ...o.nodeSelector } } : {}),
});

/** Its container: no privilege escalation, read-only root, no capability. */
export const containerSecurityContext = () => ({
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
});

export function renderNamespace(o: ResolvedInstallOptions, labels: Record<string, string>): V1Namespace {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: o.namespace,
      labels: { ...labels, name: o.namespace },
      annotations: { ...INJECT_PULL_SECRET_ANNOTATIONS },
    },
  };
}

export function renderServiceAccount(o: ResolvedInstallOptions, labels: Record<string, string>): V1ServiceAccount {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: SERVICE_ACCOUNT_NAME, namespace: o.namespace, labels: { ...labels } },
    imagePullSecrets: [{ name: OPERATOR_PULL_SECRET }],
  };
}

export function renderDeployment(o: ResolvedInstallOptions, labels: Record<string, string>): V1Deployment {
  const podLabels = { ...OPERATOR_POD_LABELS };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: DEPLOYMENT_NAME, namespace: o.namespace, labels: { ...labels, ...podLabels } },
    spec: {
      replicas: 1,
      // The backup claim is ReadWriteOnce: a surge pod on another node would wait for the volume the old pod
      // holds. No surge: the old pod goes first. (Not type Recreate: an existing Deployment's defaulted
      // rollingUpdate field would make that update invalid.)
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
      selector: { matchLabels: { "control-plane": OPERATOR_POD_LABELS["control-plane"] } },
      template: {
        metadata: {
          labels: podLabels,
          annotations: {
            "kubectl.kubernetes.io/default-container": CONTAINER_NAME,
            "prometheus.io/scrape": "true",
            "prometheus.io/port": String(METRICS_PORT),
            "prometheus.io/path": "/metrics",
          },
        },
        spec: {
          ...podSpecBase(o),
          containers: [
            {
              name: CONTAINER_NAME,
              image: o.operatorImage,
              imagePullPolicy: "IfNotPresent",
              // scone's image (hack/image) holds the binary at /scone and no PATH lookup: no shell, nothing else.
              command: ["/scone"],
              args: [
                "operator",
                "--leader-elect",
                `--metrics-port=${METRICS_PORT}`,
                `--probe-port=${PROBE_PORT}`,
                `--state-dir=${STATE_DIR}`,
                ...(o.metricsSecure ? ["--metrics-secure"] : []),
                ...(o.allowedRegistries ? [`--allowed-registries=${o.allowedRegistries.join(",")}`] : []),
                ...(Object.keys(o.cliNodeSelector).length > 0
                  ? [`--cli-node-selector=${formatCliNodeSelector(o.cliNodeSelector)}`]
                  : []),
              ],
              env: [
                { name: "SCONE_OPERATOR_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                { name: "GLOBAL_SCONE_VERSION", value: o.version },
                // Registry and prefix of the images the webhooks default (a mirror in air-gapped clusters).
                { name: "SCONE_IMAGE_REGISTRY", value: o.imageRegistry },
                ...(o.imagePrefix ? [{ name: "SCONE_IMAGE_PREFIX", value: o.imagePrefix }] : []),
                // --pin-digests: the images the webhooks default for this version, by digest (parseImageDigests).
                ...(o.imageDigests ? [{ name: "SCONE_IMAGE_DIGESTS", value: formatImageDigests(o.imageDigests) }] : []),
              ],
              ports: [
                { name: "webhook-server", containerPort: WEBHOOK_PORT, protocol: "TCP" },
                { name: "http", containerPort: METRICS_PORT, protocol: "TCP" },
                { name: "probes", containerPort: PROBE_PORT, protocol: "TCP" },
              ],
              livenessProbe: {
                httpGet: { path: "/healthz", port: PROBE_PORT },
                initialDelaySeconds: 15,
                periodSeconds: 20,
              },
              readinessProbe: {
                httpGet: { path: "/readyz", port: PROBE_PORT },
                initialDelaySeconds: 5,
                periodSeconds: 10,
              },
              resources: {
                limits: { cpu: "500m", memory: "4Gi" },
                requests: { cpu: "10m", memory: "64Mi" },
              },
              securityContext: containerSecurityContext(),
              volumeMounts: [
                { name: "state", mountPath: STATE_DIR },
                { name: "backups", mountPath: BACKUP_DIR },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          // The store is an index (history, catalogue), rebuilt from the cluster and the backup targets when lost:
          // an emptyDir. The backups themselves are the truth: a PersistentVolumeClaim (backup-claim.ts).
          volumes: [
            { name: "state", emptyDir: {} },
            { name: "backups", persistentVolumeClaim: { claimName: o.backupClaim.name } },
            { name: "tmp", emptyDir: {} },
          ],
        },
      },
    },
  };
}

export function renderServices(o: ResolvedInstallOptions, labels: Record<string, string>): V1Service[] {
  const selector = { "control-plane": OPERATOR_POD_LABELS["control-plane"] };
  return [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: WEBHOOK_SERVICE_NAME, namespace: o.namespace, labels: { ...labels } },
      spec: {
        selector,
        ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: WEBHOOK_PORT }],
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name: METRICS_SERVICE_NAME,
        namespace: o.namespace,
        labels: { ...labels, "control-plane": OPERATOR_POD_LABELS["control-plane"] },
      },
      spec: {
        selector,
        ports: [{ name: "http", port: METRICS_PORT, protocol: "TCP", targetPort: "http" }],
      },
    },
  ];
}
