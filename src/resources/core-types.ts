// Kubernetes core/v1 types embedded in the SCONE resources, typed field by field as the upstream CRDs carry
// them (controller-gen output of the k8s API the upstream operator was built with).

import { arr, bool, enumStr, type Infer, int32, int64, intOrString, map, obj, str } from "./schema.ts";

/** resource.Quantity as the API server accepts it: "1", 1, "500m", "1Gi", "1e3". */
export const QUANTITY_PATTERN =
  "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";

export const quantity = (description?: string) =>
  intOrString({
    pattern: QUANTITY_PATTERN,
    hint: 'a Kubernetes quantity such as 1, "500m", "1Gi" or "10G"',
    ...(description !== undefined && { description }),
  });

export const localObjectReference = obj(
  {
    name: str({ default: "", description: "Name of the referent (a Secret in the same namespace)." }),
  },
  { mapType: "atomic", description: "A reference to an object in the same namespace." },
);
export type LocalObjectReference = Infer<typeof localObjectReference>;

export const imagePullSecrets = (description: string) => arr(localObjectReference, { description });

export const toleration = obj(
  {
    effect: str({ description: "Taint effect to match: NoSchedule, PreferNoSchedule or NoExecute; empty = all." }),
    key: str({ description: "Taint key the toleration applies to; empty with operator Exists = all taints." }),
    operator: str({ description: "Exists or Equal (default Equal)." }),
    tolerationSeconds: int64({ description: "How long a NoExecute taint is tolerated; unset = forever." }),
    value: str({ description: "Taint value to match (operator Equal)." }),
  },
  { description: "The pod tolerates taints that match this key/value/effect." },
);
export type Toleration = Infer<typeof toleration>;

export const tolerations = (description: string) => arr(toleration, { description });

const seLinuxOptions = obj(
  {
    level: str({ description: "SELinux level label." }),
    role: str({ description: "SELinux role label." }),
    type: str({ description: "SELinux type label." }),
    user: str({ description: "SELinux user label." }),
  },
  { description: "The SELinux context applied to the container(s)." },
);

const seccompProfile = obj(
  {
    localhostProfile: str({
      description: "Profile file relative to the kubelet's seccomp directory (type Localhost).",
    }),
    type: str({
      description: "Localhost, RuntimeDefault or Unconfined.",
      hint: "RuntimeDefault, Localhost or Unconfined",
    }),
  },
  { required: ["type"], description: "The seccomp profile of the container(s)." },
);

const appArmorProfile = obj(
  {
    localhostProfile: str({ description: "Name of a profile loaded on the node (type Localhost)." }),
    type: str({
      description: "Localhost, RuntimeDefault or Unconfined.",
      hint: "RuntimeDefault, Localhost or Unconfined",
    }),
  },
  { required: ["type"], description: "The AppArmor profile of the container(s)." },
);

const windowsOptions = obj(
  {
    gmsaCredentialSpec: str({ description: "Inlined GMSA credential spec." }),
    gmsaCredentialSpecName: str({ description: "Name of the GMSA credential spec." }),
    hostProcess: bool({ description: "Run as a Windows HostProcess container." }),
    runAsUserName: str({ description: "Windows user name of the entrypoint." }),
  },
  { description: "Windows-specific settings." },
);

const capabilityList = (description: string) =>
  arr(str({ description: "A POSIX capability, e.g. SYS_RAWIO." }), { listType: "atomic", description });

export const securityContext = obj(
  {
    allowPrivilegeEscalation: bool({ description: "Whether a process may gain more privileges than its parent." }),
    appArmorProfile,
    capabilities: obj(
      { add: capabilityList("Capabilities to add."), drop: capabilityList("Capabilities to drop.") },
      { description: "Capabilities to add and drop." },
    ),
    privileged: bool({ description: "Run the container privileged." }),
    procMount: str({ description: "Type of proc mount: Default or Unmasked." }),
    readOnlyRootFilesystem: bool({ description: "Mount the root filesystem read-only." }),
    runAsGroup: int64({ description: "GID of the entrypoint." }),
    runAsNonRoot: bool({ description: "The kubelet refuses to start the container as UID 0." }),
    runAsUser: int64({ description: "UID of the entrypoint." }),
    seLinuxOptions,
    seccompProfile,
    windowsOptions,
  },
  { description: "Container security context (core/v1 SecurityContext)." },
);
export type SecurityContext = Infer<typeof securityContext>;

export const podSecurityContext = obj(
  {
    appArmorProfile,
    fsGroup: int64({ description: "Supplemental group owning the pod's volumes." }),
    fsGroupChangePolicy: str({ description: "OnRootMismatch or Always." }),
    runAsGroup: int64({ description: "GID of every container's entrypoint." }),
    runAsNonRoot: bool({ description: "The kubelet refuses to start containers as UID 0." }),
    runAsUser: int64({ description: "UID of every container's entrypoint." }),
    seLinuxChangePolicy: str({ description: "MountOption or Recursive." }),
    seLinuxOptions,
    seccompProfile,
    supplementalGroups: arr(int64(), { listType: "atomic", description: "Extra groups of the first process." }),
    supplementalGroupsPolicy: str({ description: "Merge or Strict." }),
    sysctls: arr(
      obj(
        { name: str({ description: "Name of the sysctl." }), value: str({ description: "Value of the sysctl." }) },
        { required: ["name", "value"] },
      ),
      { listType: "atomic", description: "Namespaced sysctls set for the pod." },
    ),
    windowsOptions,
  },
  { description: "Pod security context (core/v1 PodSecurityContext)." },
);
export type PodSecurityContext = Infer<typeof podSecurityContext>;

export const resourceRequirements = obj(
  {
    claims: arr(
      obj(
        {
          name: str({ description: "Name of an entry in the pod's resourceClaims." }),
          request: str({ description: "Name of a request within that claim." }),
        },
        { required: ["name"] },
      ),
      { listType: "map", listMapKeys: ["name"], description: "Dynamic resource claims used by the container." },
    ),
    limits: map(quantity(), { description: "Maximum amount of compute resources allowed." }),
    requests: map(quantity(), { description: "Minimum amount of compute resources required." }),
  },
  { description: "Compute resource requirements (core/v1 ResourceRequirements)." },
);
export type ResourceRequirements = Infer<typeof resourceRequirements>;

const keyRef = (what: string) =>
  obj(
    {
      key: str({ description: `The key of the ${what} to select.` }),
      name: str({ default: "", description: `Name of the ${what}.` }),
      optional: bool({ description: `Whether the ${what} or its key may be missing.` }),
    },
    { required: ["key"], mapType: "atomic", description: `Selects a key of a ${what}.` },
  );

const envVarSourceProperties = {
  configMapKeyRef: keyRef("ConfigMap"),
  fieldRef: obj(
    {
      apiVersion: str({ description: 'Schema version of fieldPath, "v1" by default.' }),
      fieldPath: str({ description: "Path of the field, e.g. status.hostIP." }),
    },
    { required: ["fieldPath"], mapType: "atomic", description: "Selects a field of the pod." },
  ),
  resourceFieldRef: obj(
    {
      containerName: str({ description: "Container name (required for volumes)." }),
      divisor: quantity("Output format of the exposed resources, 1 by default."),
      resource: str({ description: "Resource to select, e.g. limits.memory." }),
    },
    { required: ["resource"], mapType: "atomic", description: "Selects a resource of the container." },
  ),
  secretKeyRef: keyRef("Secret"),
};

const envVarProperties = {
  name: str({ description: "Name of the environment variable." }),
  value: str({ description: "Value; $(VAR) references are expanded." }),
};

/** EnvVar as in the CAS CRD (k8s 1.34 API, with fileKeyRef). */
export const envVar = obj(
  {
    ...envVarProperties,
    valueFrom: obj(
      {
        ...envVarSourceProperties,
        fileKeyRef: obj(
          {
            key: str({ description: "The key within the env file." }),
            optional: bool({ default: false, description: "Whether the file or key may be missing." }),
            path: str({ description: "Path of the env file within the volume." }),
            volumeName: str({ description: "Name of the volume holding the env file." }),
          },
          { required: ["key", "path", "volumeName"], mapType: "atomic", description: "Selects a key of an env file." },
        ),
      },
      { description: "Source of the value when value is empty." },
    ),
  },
  { required: ["name"], description: "An environment variable of a container." },
);
export type EnvVar = Infer<typeof envVar>;

/**
 * EnvVar inside Container, as the Vault CRD has it: that CRD was generated from an older k8s API
 * (before EnvFiles), so its valueFrom has no fileKeyRef.
 */
const containerEnvVar = obj(
  { ...envVarProperties, valueFrom: obj(envVarSourceProperties, { description: "Source of the value." }) },
  { required: ["name"], description: "An environment variable of a container." },
);

const httpHeaders = arr(
  obj(
    { name: str({ description: "Header field name." }), value: str({ description: "Header field value." }) },
    { required: ["name", "value"] },
  ),
  { listType: "atomic", description: "Custom request headers." },
);

const port = (description: string) =>
  intOrString({ description, hint: "a port number (1-65535) or an IANA port name" });

const execAction = obj(
  { command: arr(str(), { listType: "atomic", description: "Command line, run without a shell." }) },
  { description: "Runs a command in the container." },
);
const httpGetAction = obj(
  {
    host: str({ description: "Host name, the pod IP by default." }),
    httpHeaders,
    path: str({ description: "HTTP path." }),
    port: port("Port number or name."),
    scheme: str({ description: "HTTP or HTTPS." }),
  },
  { required: ["port"], description: "Performs an HTTP GET." },
);
const tcpSocketAction = obj(
  { host: str({ description: "Host name, the pod IP by default." }), port: port("Port number or name.") },
  { required: ["port"], description: "Opens a TCP connection." },
);

const lifecycleHandler = (description: string) =>
  obj(
    {
      exec: execAction,
      httpGet: httpGetAction,
      sleep: obj(
        { seconds: int64({ description: "Seconds to sleep." }) },
        { required: ["seconds"], description: "Sleeps." },
      ),
      tcpSocket: tcpSocketAction,
    },
    { description },
  );

const probe = (description: string) =>
  obj(
    {
      exec: execAction,
      failureThreshold: int32({ description: "Consecutive failures until the probe fails." }),
      grpc: obj(
        {
          port: int32({ description: "Port of the gRPC service." }),
          service: str({ default: "", description: "Service name for the gRPC health check." }),
        },
        { required: ["port"], description: "Performs a gRPC health check." },
      ),
      httpGet: httpGetAction,
      initialDelaySeconds: int32({ description: "Seconds after start before the first probe." }),
      periodSeconds: int32({ description: "Seconds between probes." }),
      successThreshold: int32({ description: "Consecutive successes until the probe succeeds." }),
      tcpSocket: tcpSocketAction,
      terminationGracePeriodSeconds: int64({ description: "Grace period when the probe fails." }),
      timeoutSeconds: int32({ description: "Seconds until the probe times out." }),
    },
    { description },
  );

const envFromRef = (what: string) =>
  obj(
    {
      name: str({ default: "", description: `Name of the ${what}.` }),
      optional: bool({ description: `Whether the ${what} may be missing.` }),
    },
    { mapType: "atomic", description: `All keys of a ${what}.` },
  );

/** core/v1 Container, as in the Vault CRD (extraInitContainers). */
export const container = obj(
  {
    args: arr(str(), { listType: "atomic", description: "Arguments to the entrypoint." }),
    command: arr(str(), { listType: "atomic", description: "Entrypoint array, not run in a shell." }),
    env: arr(containerEnvVar, {
      listType: "map",
      listMapKeys: ["name"],
      description: "Environment variables of the container.",
    }),
    envFrom: arr(
      obj(
        {
          configMapRef: envFromRef("ConfigMap"),
          prefix: str({ description: "Prefix prepended to every key." }),
          secretRef: envFromRef("Secret"),
        },
        { description: "A source of environment variables." },
      ),
      { listType: "atomic", description: "Sources of environment variables." },
    ),
    image: str({ description: "Container image reference." }),
    imagePullPolicy: str({ description: "Always, Never or IfNotPresent." }),
    lifecycle: obj(
      {
        postStart: lifecycleHandler("Called right after the container is created."),
        preStop: lifecycleHandler("Called before the container is terminated."),
        stopSignal: str({ description: "Signal sent to stop the container." }),
      },
      { description: "Lifecycle hooks." },
    ),
    livenessProbe: probe("Periodic probe of container liveness."),
    name: str({ description: "Name of the container (DNS label)." }),
    ports: arr(
      obj(
        {
          containerPort: int32({ description: "Port number on the pod IP." }),
          hostIP: str({ description: "Host IP to bind the host port to." }),
          hostPort: int32({ description: "Port number on the host." }),
          name: str({ description: "Port name (IANA_SVC_NAME)." }),
          protocol: str({ default: "TCP", description: "UDP, TCP or SCTP." }),
        },
        { required: ["containerPort"] },
      ),
      { listType: "map", listMapKeys: ["containerPort", "protocol"], description: "Ports exposed by the container." },
    ),
    readinessProbe: probe("Periodic probe of container readiness."),
    resizePolicy: arr(
      obj(
        {
          resourceName: str({ description: "cpu or memory." }),
          restartPolicy: str({ description: "NotRequired or RestartContainer." }),
        },
        { required: ["resourceName", "restartPolicy"] },
      ),
      { listType: "atomic", description: "Resize policy per resource." },
    ),
    resources: resourceRequirements,
    restartPolicy: str({ description: "Always makes an init container a sidecar." }),
    securityContext,
    startupProbe: probe("Probe that gates the other probes until it succeeds."),
    stdin: bool({ description: "Allocate a stdin buffer." }),
    stdinOnce: bool({ description: "Close stdin after the first attach." }),
    terminationMessagePath: str({ description: "File holding the termination message." }),
    terminationMessagePolicy: str({ description: "File or FallbackToLogsOnError." }),
    tty: bool({ description: "Allocate a TTY." }),
    volumeDevices: arr(
      obj(
        {
          devicePath: str({ description: "Path of the device in the container." }),
          name: str({ description: "Name of a PVC of the pod." }),
        },
        { required: ["devicePath", "name"] },
      ),
      { listType: "map", listMapKeys: ["devicePath"], description: "Block devices used by the container." },
    ),
    volumeMounts: arr(
      obj(
        {
          mountPath: str({ description: "Path in the container." }),
          mountPropagation: str({ description: "None, HostToContainer or Bidirectional." }),
          name: str({ description: "Name of a volume of the pod." }),
          readOnly: bool({ description: "Mount read-only." }),
          recursiveReadOnly: str({ description: "Disabled, IfPossible or Enabled." }),
          subPath: str({ description: "Path within the volume." }),
          subPathExpr: str({ description: "Expanded path within the volume." }),
        },
        { required: ["mountPath", "name"] },
      ),
      { listType: "map", listMapKeys: ["mountPath"], description: "Volumes mounted into the container." },
    ),
    workingDir: str({ description: "Working directory." }),
  },
  { required: ["name"], description: "A container (core/v1 Container)." },
);
export type Container = Infer<typeof container>;

/** metav1.Condition, the standard shape of status.conditions. */
export const condition = obj(
  {
    lastTransitionTime: str({ format: "date-time", description: "When the status last changed." }),
    message: str({ maxLength: 32768, description: "Human-readable details." }),
    observedGeneration: int64({ minimum: 0, description: "metadata.generation the condition was set for." }),
    reason: str({
      maxLength: 1024,
      minLength: 1,
      pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
      description: "CamelCase reason for the last transition.",
    }),
    status: enumStr(["True", "False", "Unknown"], { description: "Status of the condition." }),
    type: str({
      maxLength: 316,
      pattern:
        "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
      description: "Condition type in CamelCase.",
    }),
  },
  {
    required: ["lastTransitionTime", "message", "reason", "status", "type"],
    description: "One aspect of the current state.",
  },
);
export type Condition = Infer<typeof condition>;

/** Plain array as upstream has it (no list-type map): same accepted documents as the upstream CRDs. */
export const conditions = (description: string) => arr(condition, { description });
