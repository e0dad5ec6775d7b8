// The objects of a Vault (services.scone.cloud/v1beta1, deprecated upstream), pure: a StatefulSet `<name>` running
// the SCONE vault server image, the client Service `<name>` and the headless `<name>-internal` (the names and ports
// vault-helm uses, whose values the CRD mirrors). Upstream's operator renders an embedded helm chart that is not
// public; what this renders follows the CRD fields and upstream's vault.yaml template [I where noted].
import type {
  V1Container,
  V1EnvVar,
  V1PersistentVolumeClaim,
  V1Service,
  V1StatefulSet,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import { SGX_ENCLAVE_RESOURCE } from "../../resources/defaults.ts";
import type { Vault } from "../../resources/vault.ts";
import { canonicalResources } from "../../runtime/quantity.ts";
import { compact } from "../kit/render.ts";

export const VAULT_APP = "vault";
export const VAULT_CONTAINER = "vault";
export const VAULT_API_PORT = 8200;
export const VAULT_CLUSTER_PORT = 8201;
/** Where vault keeps its data (`kubectl provision vault --local-backup` copies /mnt/vault/data from `<vault>-0`). */
export const DEFAULT_DATA_PATH = "/mnt/vault/data";
const DATA_VOLUME = "data";
const DATA_SIZE = "10Gi"; // [I] vault-helm's default dataStorage.size

export const vaultLabels = (name: string): Record<string, string> => ({
  "app.kubernetes.io/name": VAULT_APP,
  "app.kubernetes.io/instance": name,
});

export const internalServiceName = (name: string): string => `${name}-internal`;

const enabled = (m: Record<string, boolean> | undefined): boolean => m?.enabled === true;

/** `$(VAR)` references in a value. */
const referencesOf = (value: string): string[] =>
  [...value.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1] ?? "");

/**
 * extraEnvironmentVars in an order Kubernetes can expand: a `$(VAR)` reference only resolves to variables listed
 * before it (upstream's template has SCONE_CONFIG_ID = "vault-$(OWNER_ID)/dev"). Names sorted, then each variable
 * after the ones it references; a cycle keeps the sorted order.
 */
export function orderedEnvironment(vars: Readonly<Record<string, string>>): V1EnvVar[] {
  const names = Object.keys(vars).sort();
  const out: string[] = [];
  const visiting = new Set<string>();
  const visit = (n: string) => {
    if (out.includes(n) || visiting.has(n)) return;
    visiting.add(n);
    for (const ref of referencesOf(vars[n] ?? "")) if (ref in vars) visit(ref);
    visiting.delete(n);
    out.push(n);
  };
  for (const n of names) visit(n);
  return out.map((name) => ({ name, value: vars[name] ?? "" }));
}

/** Variables of the pod the SCONE vault template refers to ($(HOST_IP) is the LAS address), set before the user's. */
const podEnvironment: V1EnvVar[] = [
  { name: "HOST_IP", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
  { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
  { name: "VAULT_K8S_POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
  { name: "VAULT_K8S_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
];

/** Resources with the SGX enclave limit the vault enclave needs (injected like CAS's when the spec has none). */
function resourcesOf(vault: Vault): V1Container["resources"] {
  const r = canonicalResources({ ...(vault.spec?.server?.resources ?? {}) } as {
    limits?: Record<string, string | number>;
    requests?: Record<string, string | number>;
  });
  const limits = { ...r.limits };
  if (limits[SGX_ENCLAVE_RESOURCE] === undefined) limits[SGX_ENCLAVE_RESOURCE] = "1";
  return compact({ limits, requests: r.requests }) as V1Container["resources"];
}

function serverContainer(vault: Vault): V1Container {
  const server = vault.spec?.server ?? {};
  const image = server.image ?? {};
  const dataPath = server.path || DEFAULT_DATA_PATH;
  const mounts: V1VolumeMount[] = [{ name: DATA_VOLUME, mountPath: dataPath }];
  const readiness = enabled(server.readinessProbe)
    ? {
        readinessProbe: {
          httpGet: { path: "/v1/sys/health?standbyok=true", port: VAULT_API_PORT, scheme: "HTTPS" },
          initialDelaySeconds: server.initialdelaySeconds ?? 5,
          periodSeconds: 5,
          failureThreshold: 2,
        },
      }
    : {};
  return {
    name: VAULT_CONTAINER,
    image: image.tag ? `${image.repository ?? ""}:${image.tag}` : (image.repository ?? ""),
    imagePullPolicy: image.pullPolicy || "IfNotPresent",
    env: [...podEnvironment, ...orderedEnvironment(server.extraEnvironmentVars ?? {})],
    ports: [
      { name: "http", containerPort: VAULT_API_PORT, protocol: "TCP" },
      { name: "https-internal", containerPort: VAULT_CLUSTER_PORT, protocol: "TCP" },
    ],
    resources: resourcesOf(vault),
    volumeMounts: mounts,
    ...(server.postStart?.length ? { lifecycle: { postStart: { exec: { command: [...server.postStart] } } } } : {}),
    ...readiness,
  };
}

export function renderVaultStatefulSet(vault: Vault): V1StatefulSet {
  const name = vault.metadata.name ?? "";
  const labels = vaultLabels(name);
  const server = vault.spec?.server ?? {};
  const storage = enabled(server.dataStorage) && !enabled(server.dev);
  const claims: V1PersistentVolumeClaim[] = storage
    ? [
        {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { name: DATA_VOLUME },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: DATA_SIZE } } },
        },
      ]
    : [];
  // Without persistent storage (or in dev mode) the data lives as long as the pod: an emptyDir.
  const volumes: V1Volume[] = storage ? [] : [{ name: DATA_VOLUME, emptyDir: {} }];
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name, namespace: vault.metadata.namespace, labels },
    spec: {
      replicas: 1,
      serviceName: internalServiceName(name),
      podManagementPolicy: "Parallel",
      selector: { matchLabels: labels },
      // The vault data holds every secret: deleting the Vault keeps its claim (like the CAS database).
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
      template: {
        metadata: { labels },
        spec: compact({
          imagePullSecrets: vault.spec?.global?.imagePullSecrets?.length
            ? vault.spec.global.imagePullSecrets.map((s) => ({ name: s.name ?? "" }))
            : undefined,
          nodeSelector: vault.spec?.nodeSelector,
          initContainers: server.extraInitContainers as V1Container[] | undefined,
          containers: [serverContainer(vault)],
          volumes,
        }) as NonNullable<V1StatefulSet["spec"]>["template"]["spec"],
      },
      ...(claims.length ? { volumeClaimTemplates: claims } : {}),
    },
  };
}

function service(vault: Vault, name: string, headless: boolean): V1Service {
  const labels = vaultLabels(vault.metadata.name ?? "");
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: vault.metadata.namespace, labels },
    spec: {
      ...(headless ? { clusterIP: "None" } : { type: "ClusterIP" }),
      // Vault must be reachable before it is ready: it is initialised and unsealed through these ports.
      publishNotReadyAddresses: true,
      selector: labels,
      ports: [
        { name: "http", port: VAULT_API_PORT, targetPort: VAULT_API_PORT, protocol: "TCP" },
        { name: "https-internal", port: VAULT_CLUSTER_PORT, targetPort: VAULT_CLUSTER_PORT, protocol: "TCP" },
      ],
    },
  };
}

export function renderVaultServices(vault: Vault): V1Service[] {
  const name = vault.metadata.name ?? "";
  return [service(vault, name, false), service(vault, internalServiceName(name), true)];
}

export function renderVaultObjects(vault: Vault): [V1StatefulSet, ...V1Service[]] {
  return [renderVaultStatefulSet(vault), ...renderVaultServices(vault)];
}
