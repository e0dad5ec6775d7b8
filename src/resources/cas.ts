// CAS (services.scone.cloud/v1beta1): the SCONE Configuration and Attestation Service, one StatefulSet pod.

import { autoUpdate, counter, reinstallOnFatal, serviceState } from "./common-fields.ts";
import {
  conditions,
  envVar,
  imagePullSecrets,
  podSecurityContext,
  quantity,
  resourceRequirements,
  securityContext,
  tolerations,
} from "./core-types.ts";
import { ageColumn, type CustomResource, type ResourceDefinition, stringMap } from "./definition.ts";
import { arr, bool, describe, enumStr, type Infer, int, int32, int64, obj, str } from "./schema.ts";

export const NONCE_PATTERN = "^[0-9A-Fa-f]{32}$";
const NONCE_HINT = "32 hexadecimal characters (e.g. from `openssl rand -hex 16`), or leave it out to get a random one";

const probeSettings = (which: "liveness" | "startup") =>
  obj(
    {
      enabled: bool({ description: "Whether the probe is enabled." }),
      failureThreshold: int32({ description: "Consecutive failures until the probe fails. DEFAULT: 3." }),
      initialDelaySeconds: int32({
        description: `Seconds after the container start before the first probe. DEFAULT: ${which === "liveness" ? 3 : 15}.`,
      }),
      periodSeconds: int32({ description: "Seconds between probes. DEFAULT: 60." }),
      timeoutSeconds: int32({ description: "Seconds until a probe times out. DEFAULT: 20." }),
    },
    {
      required: ["enabled"],
      description:
        which === "liveness"
          ? "Liveness probe of the CAS container (a TCP check of the client port); the container restarts when it fails."
          : "Startup probe of the CAS container; no other probe runs until it succeeds.",
    },
  );

const accessModes = arr(str(), { description: "Access modes of the persistent volume. DEFAULT: [ReadWriteOnce]." });

export const casSpec = obj({
  attestedCLIProbes: bool({
    description:
      "Upstream: if true, the liveness and startup probes (SCONE CLI operations) run attested. DEFAULT: true. Accepted for compatibility; scone's probes are TCP checks of the client port (upstream's probe commands are not public), so it changes nothing.",
  }),
  autoUpdate: autoUpdate("CAS", " NOTE: disabled upstream."),
  "backup-controller": obj(
    {
      containerSecurityContext: describe(
        securityContext,
        "Security context of the backup controller container. DEFAULT: allowPrivilegeEscalation false, capabilities drop ALL.",
      ),
      debug: bool({ description: "Enables the backup controller's debug output. DEFAULT: false." }),
      enabled: bool({ description: "Enables the backup controller. DEFAULT: false." }),
      env: arr(envVar, {
        description:
          "Environment of the backup controller. DEFAULT: LAS_SELECTOR_LABEL, BACKUP_CAS_IMAGE, SCONE_LAS_ADDR (status.hostIP), BACKUP_CAS_CLIENT_PORT, BACKUP_CAS_ENCLAVE_PORT, SELECTOR_LABELS.",
      }),
      image: str({
        description:
          "Backup controller image. DEFAULT: registry.scontain.com/scone.cloud/backup-controller:<operator's SCONE version>.",
      }),
      imagePullPolicy: str({ description: "Image pull policy of the backup controller. DEFAULT: Always." }),
      imagePullSecrets: imagePullSecrets(
        "Pull secrets of the backup controller. DEFAULT: a copy of spec.imagePullSecrets.",
      ),
      podSecurityContext: describe(
        podSecurityContext,
        "Security context of the backup controller pod. DEFAULT: runAsNonRoot true, seccompProfile RuntimeDefault.",
      ),
      session: str({
        description:
          'The session (policy) whose SCONE CLI configuration the backup controller uses, e.g. "my-namespace/upgrade". No default: required when enabled.',
      }),
      tolerations: tolerations("Tolerations of the backup controller pod. DEFAULT: []."),
    },
    {
      description:
        "The CAS backup controller registers backup CAS instances on other nodes, so that the CAS pod can move when its node fails.",
    },
  ),
  configuration: str({ description: 'CAS configuration, rendered as /etc/cas/cas.toml. DEFAULT: "".' }),
  containerSecurityContextAudit: describe(
    securityContext,
    "Security context of the audit container. DEFAULT: allowPrivilegeEscalation false, capabilities drop ALL.",
  ),
  containerSecurityContextCAS: describe(
    securityContext,
    "Security context of the CAS container. DEFAULT: allowPrivilegeEscalation false, capabilities add SYS_RAWIO, drop ALL.",
  ),
  databaseSnapshots: obj(
    {
      enabled: bool({ description: "Enables CAS database snapshots. DEFAULT: false." }),
      interval: str({
        description: 'How often a snapshot is made, as a duration such as "60s" or "24h0m0s". DEFAULT: "60s".',
      }),
      persistence: obj(
        {
          accessModes,
          enabled: bool({ description: "Keeps snapshots on a persistent volume. DEFAULT: false." }),
          size: quantity("Size of the snapshot volume. DEFAULT: 1Gi."),
          storageClass: str({ description: 'Storage class of the snapshot volume; "" = the cluster default.' }),
        },
        { required: ["enabled"], description: "Persistence of the snapshot directory." },
      ),
      targetDirectory: str({
        description: "Directory receiving the snapshots. DEFAULT: /var/mnt/cas-database-snapshots.",
      }),
    },
    { required: ["enabled"], description: "Periodic snapshots of the CAS database (for backups)." },
  ),
  edmmMode: str({
    description:
      'SCONE EDMM mode of the CAS enclave: "disable", "enable" or "auto" (use EDMM if available). DEFAULT: "disable". Accepted for compatibility; how the CAS image reads it is not public, so scone passes it nowhere.',
  }),
  enclaveMetrics: obj(
    {
      enabled: bool({ default: false, description: "Exposes the enclave metrics." }),
      port: int32({ default: 8080, minimum: 1, maximum: 65535, description: "Port of the enclave metrics." }),
    },
    { required: ["enabled"], description: "Exposure of the CAS enclave metrics." },
  ),
  image: str({
    description:
      "CAS image. DEFAULT: registry.scontain.com/scone.cloud/cas:<operator's SCONE version>; an image without a tag gets that version as tag.",
  }),
  imagePullPolicy: str({ description: "Image pull policy of the CAS containers. DEFAULT: Always." }),
  imagePullSecrets: imagePullSecrets("Pull secrets of the CAS pod. DEFAULT: []."),
  livenessProbe: probeSettings("liveness"),
  networkPolicy: obj(
    {
      enabled: bool({ description: "Enables the CAS network policy. DEFAULT: false." }),
      ingressNSMatchLabels: stringMap("Labels of namespaces allowed to reach CAS. DEFAULT: {}."),
      ingressPodMatchLabels: stringMap("Labels of pods allowed to reach CAS. DEFAULT: {}."),
    },
    { required: ["enabled"], description: "A NetworkPolicy restricting ingress to CAS." },
  ),
  nodeSelector: stringMap(
    "Node labels the CAS pod must match. las.scontain.com/capable=true is added when the key is absent.",
  ),
  nonce: str({
    pattern: NONCE_PATTERN,
    minLength: 32,
    maxLength: 32,
    hint: NONCE_HINT,
    description:
      "32 hexadecimal characters used to request the DCAP report in status.dcapReport. DEFAULT: a random value.",
  }),
  ownerCertificate: str({ description: 'Content of owner_certificate.pem. DEFAULT: "".' }),
  ownerConfig: str({ description: 'Content of owner_config.toml. DEFAULT: "".' }),
  persistence: obj(
    {
      accessModes,
      enabled: bool({ description: "Keeps the CAS database on a persistent volume. DEFAULT: true." }),
      mountPath: str({ description: "Mount path of the database volume. DEFAULT: /etc/cas/db." }),
      size: quantity("Size of the database volume. DEFAULT: 1Gi."),
      storageClass: str({ description: 'Storage class of the database volume; "" = the cluster default.' }),
    },
    { description: "Persistence of the CAS database." },
  ),
  podAnnotations: stringMap("Annotations added to the CAS pod. DEFAULT: {}."),
  podSecurityContext: describe(
    podSecurityContext,
    "Security context of the CAS pod. DEFAULT: runAsNonRoot true, seccompProfile RuntimeDefault (5.8.x images: runAsNonRoot false); fsGroup 1000 is required from 5.9.",
  ),
  reinstallOnFatal: reinstallOnFatal(),
  resources: describe(
    resourceRequirements,
    "Compute resources of the CAS container. The limit sgx.intel.com/enclave: 1 is always set, even when given as 0.",
  ),
  safetyService: obj(
    {
      containerSecurityContext: describe(
        securityContext,
        "Security context of the safety service container. DEFAULT: allowPrivilegeEscalation false, capabilities drop ALL.",
      ),
      desiredReplicas: int({ minimum: 2, description: "Number of safety service replicas. DEFAULT: 3." }),
      enabled: bool({
        description:
          "Enables the safety service. DEFAULT: true when the section is absent and the backup controller is enabled, otherwise false. Needs SCONE >= 5.8.2-rc.4.",
      }),
      image: str({
        description:
          "Safety service image. DEFAULT: registry.scontain.com/scone.cloud/cas-safety-service:<operator's SCONE version>.",
      }),
      minReplicas: int({
        minimum: 2,
        description: "minAvailable of the safety service PodDisruptionBudget. DEFAULT: 2.",
      }),
      podAntiAffinityTopologyKey: str({
        pattern: "^[a-z0-9]([a-z0-9_.\\/-]*[a-z0-9])?$",
        hint: "a node label key such as kubernetes.io/hostname or topology.kubernetes.io/zone",
        description: "Topology key spreading the safety service pods. DEFAULT: kubernetes.io/hostname.",
      }),
      podSecurityContext: describe(
        podSecurityContext,
        "Security context of the safety service pods. DEFAULT: runAsNonRoot true, runAsUser 1000, seccompProfile RuntimeDefault.",
      ),
      tolerations: tolerations("Tolerations of the safety service pods. DEFAULT: []."),
    },
    {
      required: ["enabled", "podAntiAffinityTopologyKey"],
      description: "The safety service keeps CAS from being drained away from its registered nodes.",
    },
  ),
  service: obj(
    {
      annotations: stringMap("Annotations of the CAS Service. DEFAULT: {}."),
      clientPort: int32({ description: "Port of the CAS client API. DEFAULT: 8081." }),
      enclavePort: int32({ description: "Port of the CAS enclave API. DEFAULT: 18765." }),
      loadBalancerIP: str({
        description: 'Load balancer IP (type LoadBalancer only; deprecated in Kubernetes). DEFAULT: "".',
      }),
      nodePorts: obj(
        {
          clientPort: int32({ description: "Node port of the client API; random when unset." }),
          enclavePort: int32({ description: "Node port of the enclave API; random when unset." }),
        },
        { description: "Fixed node ports (type NodePort only); they must be free on every node." },
      ),
      type: str({ description: "ClusterIP, NodePort or LoadBalancer. DEFAULT: ClusterIP." }),
    },
    { description: "How CAS is exposed by a Service." },
  ),
  startupProbe: probeSettings("startup"),
  tolerations: tolerations("Tolerations of the CAS pod. DEFAULT: []."),
});
export type CASSpec = Infer<typeof casSpec>;

export const CAS_PHASES = [
  "Deleted",
  "HEALTHY",
  "Provisioned",
  "Unprovisioned",
  "EnablingMigration",
  "Uninitialized",
  "AttestationFailure",
  "SnapshotFailure",
  "UNHEALTHY",
] as const;
export type CASPhase = (typeof CAS_PHASES)[number];

const safetyServiceHealth = (description: string) =>
  enumStr(["Healthy", "Alert", "Unhealthy", "Disabled", "Unknown"], { description });

export const casStatus = obj(
  {
    attestable: enumStr(["Yes", "Failure"], {
      default: "Failure",
      description: "Whether the operator could attest the CAS.",
    }),
    conditions: conditions("Conditions describing the state of the CAS."),
    dcapReport: str({ description: "DCAP report retrieved from the CAS with the nonce." }),
    desiredNumMigratableNodes: int({ minimum: 0, description: "SGX-capable nodes where the SGX plugin runs." }),
    mainPodDeletionAttemptBackoffTime: str({
      format: "duration",
      description: "Minimum wait before the operator deletes a CAS pod stuck in Pending again.",
    }),
    migrationControllerReplicaAlert: counter("Expected backup controller pods that are not running (expected: 1)."),
    migrationNodeAlert: counter("Nodes without a registered backup CAS."),
    migrationNodeRatio: str({
      description:
        'numMigratableNodes/desiredNumMigratableNodes, or "Disabled" (no backup controller) or "Initializing".',
    }),
    nonce: str({
      pattern: NONCE_PATTERN,
      minLength: 32,
      maxLength: 32,
      description: "The nonce of the DCAP report; equals spec.nonce once the report is current.",
    }),
    numMigratableNodes: int({ minimum: 0, description: "Nodes with a registered backup CAS." }),
    observedGeneration: int64({ minimum: 0, description: "The metadata.generation this status describes." }),
    observedPodUID: str({
      description:
        "The metadata.uid of the CAS pod (NAME-0) this status describes; absent while there is none. Clients read the pod's node from the pod itself.",
    }),
    phase: enumStr(CAS_PHASES, { description: "The phase of the CAS." }),
    podDisruptionBudgetAlert: int({
      minimum: 0,
      maximum: 1,
      description: "Pods the CAS PodDisruptionBudget allows to be evicted (should be 0).",
    }),
    provisioned: enumStr(["Unknown", "No", "Yes"], {
      default: "Unknown",
      description: "Whether the CAS is provisioned (has an owner).",
    }),
    readyReplicas: counter("Available CAS pods."),
    replicaAlert: counter("Expected CAS pods that are not running (expected: 1)."),
    safetyServiceActiveStatus: bool({ description: "Whether the safety service is active." }),
    safetyServiceDeploymentStatus: safetyServiceHealth("Health of the safety service Deployment."),
    safetyServicePDBStatus: safetyServiceHealth("Health of the safety service PodDisruptionBudget."),
    safetyServiceStatus: safetyServiceHealth("The least healthy of the Deployment and PodDisruptionBudget states."),
    snapshotCheckupTimestamp: str({ format: "date-time", description: "When a snapshot was last made or skipped." }),
    snapshotConfiguredInterval: int64({ description: "The configured snapshot interval in seconds." }),
    snapshotStatus: enumStr(["Failed", "Initializing", "Ephemeral", "Persisted", "Disabled"], {
      description: "State of the database snapshots.",
    }),
    snapshotTimestamp: str({ format: "date-time", description: "Time of the latest snapshot." }),
    state: serviceState("CAS"),
    version: str({ default: "unknown", description: "The CAS version (5.8.0 and later)." }),
  },
  {
    required: [
      "attestable",
      "desiredNumMigratableNodes",
      "migrationNodeRatio",
      "numMigratableNodes",
      "phase",
      "podDisruptionBudgetAlert",
      "provisioned",
      "state",
    ],
    description: "Observed state of the CAS.",
  },
);
export type CASStatus = Infer<typeof casStatus>;

export type CAS = CustomResource<CASSpec, CASStatus, "CAS">;

export const casDefinition: ResourceDefinition<CASSpec, CASStatus> = {
  group: "services.scone.cloud",
  version: "v1beta1",
  kind: "CAS",
  listKind: "CASList",
  plural: "cas",
  singular: "cas",
  scope: "Namespaced",
  description: "CAS is a SCONE Configuration and Attestation Service.",
  spec: casSpec,
  status: casStatus,
  printerColumns: [
    { name: "Status", type: "string", jsonPath: ".status.state", description: "The state of this CAS service" },
    { name: "Phase", type: "string", jsonPath: ".status.phase", description: "The phase of this CAS service" },
    { name: "PROVISIONED", type: "string", jsonPath: ".status.provisioned" },
    { name: "ATTESTABLE", type: "string", jsonPath: ".status.attestable" },
    { name: "SNAPSHOTS", type: "string", jsonPath: ".status.snapshotStatus" },
    { name: "MIGRATION", type: "string", jsonPath: ".status.migrationNodeRatio" },
    { name: "VERSION", type: "string", jsonPath: ".status.version" },
    ageColumn("AGE"),
  ],
};
