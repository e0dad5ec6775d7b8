// The files upstream's `kubectl provision cas` downloads from scontain/manifests (6.0.6, SCONE-INTERFACE §9) and the
// text it writes inline (§10.2), embedded so provisioning needs no network, docker or envsubst. Rendering is pure:
// the same inputs give byte-identical text (golden tests), and only the variables upstream substitutes are replaced.
// Upstream pastes the values into the text; scone parses the text first and fills them in as values of string
// scalars (resources/envsubst.ts), then serializes once, so no value can add keys to a manifest or session.
import { type Document, isMap, parseDocument } from "yaml";
import type { CAS } from "../../resources/cas.ts";
import { defaultImage } from "../../resources/defaults.ts";
import { fillDocument, substitute } from "../../resources/envsubst.ts";

export { substitute };

/** Upstream's policy namespace for the backup controller's session (`POLICY_NAME`). */
export const POLICY_NAME = "cas-owner/primary-backup";
/** The session the backup controller runs (`.spec.backup-controller.session`). */
export const BACKUP_CONTROLLER_SESSION = `${POLICY_NAME}/register`;
/**
 * MRENCLAVE of the SCONE CLI inside the backup-controller image. Upstream asks docker
 * (`docker run -e SCONE_HASH=1 <backup-controller image> cas`); scone runs without docker, so it uses the value
 * upstream's 6.0.6 backup_policy.yaml carries (7.0.0-alpha.2 uses ef224246…d005499).
 */
export const SCONE_CLI_MRENCLAVE = "ebccfec4dcb2474851cfd944fcac0bb9e9a78020b816f4b41a5b89a6ec373d0b";
export const SESSION_NAMES = ["cas-owner", POLICY_NAME, "provisioned"] as const;
export type OwnerSessionName = (typeof SESSION_NAMES)[number];

/** `cas_provisioning.yaml` (6.0.6), verbatim. */
export const CAS_PROVISIONING_YAML = `apiVersion: services.scone.cloud/v1beta1
kind: CAS
metadata:
  name: $NAME
  namespace: $NAMESPACE
spec:
  image: $IMAGE
  imagePullSecrets:
    - name: sconeapps
  service:
    type: NodePort
  imagePullPolicy: Always
  persistence:
    enabled: true
  databaseSnapshots:
    enabled: true
    interval: 24h0m0s
    persistence:
      enabled: true
  podAnnotations:
    sconeapps/inject-pull-secret:  "true"
  backup-controller:
    enabled: false
  nodeSelector:
    las.scontain.com/ok: "true"
`;

/** `backup_policy.yaml` (6.0.6), verbatim; 6.0.6 carries the CLI MRENCLAVE inline, older templates the variable. */
export const BACKUP_POLICY_YAML = `name: $POLICY_NAME
version: "0.3.10"

security:
  attestation:
    tolerate: [outdated-tcb, software-hardening-needed, insecure-configuration, insecure-igpu, aepic-leak]
    ignore_advisories: "*"

services:
  - name: register
    image_name: cli
    # optional:
    #$PLATFORM_IDS
    attestation:
      mrenclave:
        - ebccfec4dcb2474851cfd944fcac0bb9e9a78020b816f4b41a5b89a6ec373d0b
    command: "scone cas register-backup -SCG @@3"
    environment:
      SCONE_MODE: hw
      SCONE_LOG: error
      SCONE_CLI_CONFIG: /etc/owner-identity.json
      \\@\\@SCONE_LAS_ADDR: ""
    pwd: /
  - name: upgrade
    image_name: cli
    # optional:
    #$PLATFORM_IDS
    attestation:
      mrenclave:
        - ebccfec4dcb2474851cfd944fcac0bb9e9a78020b816f4b41a5b89a6ec373d0b
    command: "scone cas register-upgrade -SCG @@3"
    environment:
      SCONE_MODE: hw
      SCONE_LOG: error
      SCONE_CLI_CONFIG: /etc/owner-identity.json
      \\@\\@SCONE_LAS_ADDR: ""
    pwd: /

images:
  - name: cli
    injection_files:
      - path: /etc/owner-identity.json
        content: |
$OWNER_IDENTITY
`;

/** `cas-owner.yaml` (6.0.6), verbatim. */
export const CAS_OWNER_YAML = `name: cas-owner
version: "0.3.10"

access_policy:
      read:
        - CREATOR
      update:
        - CREATOR

secrets:
  - name: access_policy
    export:
      - namespace: cas-owner
    kind: config-fragment
    value:
      read:
        - CREATOR
      update:
        - CREATOR
  - name: security_policy
    export:
      - namespace: cas-owner
      - session: cas-owner-owner-identity
    kind: config-fragment
    value:
      attestation:
        tolerate: [outdated-tcb, aepic-leak, insecure-configuration, hyperthreading, insecure-igpu, software-hardening-needed]
        ignore_advisories: "*"
`;

/** The `provisioned` session upstream writes inline (its readability is what status.provisioned reports). */
export const PROVISIONED_YAML = `name: provisioned
version: "0.3.10"
predecessor:

access_policy:
  read:
    - ANY
  update:
    - CREATOR
  create_sessions:
    - CREATOR
`;

export interface ImageChoice {
  /** `--image-registry` (default registry.scontain.com/scone.cloud). */
  readonly imageRepo?: string;
  readonly imagePrefix?: string;
  /** `--set-version`. */
  readonly version: string;
}

/** The image choice of a provision or restore: its version, --image-registry and --image-prefix. */
export function imageChoice(o: { version: string; imageRepo?: string; imagePrefix?: string }): ImageChoice {
  return {
    version: o.version,
    ...(o.imageRepo ? { imageRepo: o.imageRepo } : {}),
    ...(o.imagePrefix ? { imagePrefix: o.imagePrefix } : {}),
  };
}

export function casImage(choice: ImageChoice): string {
  return defaultImage("cas", {
    serviceVersion: choice.version,
    imageRepo: choice.imageRepo,
    imagePrefix: choice.imagePrefix,
  });
}

export function casRecoveryImage(choice: ImageChoice): string {
  return defaultImage("cas-recovery", {
    serviceVersion: choice.version,
    imageRepo: choice.imageRepo,
    imagePrefix: choice.imagePrefix,
  });
}

export function backupControllerImage(choice: ImageChoice): string {
  return defaultImage("backup-controller", {
    serviceVersion: choice.version,
    imageRepo: choice.imageRepo,
    imagePrefix: choice.imagePrefix,
  });
}

/** Options of every text serialized from a parsed template: no folding (upstream's one-line lists stay on one line). */
const TEXT_OPTIONS = { lineWidth: 0, flowCollectionPadding: false } as const;

/** A template as a YAML document; `source` names it in the error (a file of --manifests-dir may be anything). */
function parseTemplate(text: string, source: string): Document {
  const doc = parseDocument(text);
  const error = doc.errors[0];
  if (error) throw new Error(`${source}: not valid YAML (${error.message.split("\n")[0]})`);
  if (!isMap(doc.contents)) throw new Error(`${source}: expected a YAML mapping`);
  return doc;
}

export interface RenderedManifest<T> {
  /** The object to send: the parsed template, its variables filled in as values. */
  readonly object: T;
  /** The same object serialized (the copy upstream keeps on disk), with the template's comments and layout. */
  readonly text: string;
}

/**
 * cas_provisioning.yaml with NAME, NAMESPACE and IMAGE filled in and spec.nonce set (upstream appends
 * `  nonce: $NONCE` to the text, which lands under spec).
 */
export function renderProvisioningManifest(
  p: { name: string; namespace: string; image: string; nonce: string },
  template = CAS_PROVISIONING_YAML,
): RenderedManifest<CAS> {
  const doc = parseTemplate(template, "cas_provisioning.yaml");
  fillDocument(doc, { NAME: p.name, NAMESPACE: p.namespace, IMAGE: p.image });
  if (!isMap(doc.get("spec"))) throw new Error("cas_provisioning.yaml: expected a CAS with a spec mapping");
  doc.setIn(["spec", "nonce"], p.nonce);
  return { object: doc.toJS() as CAS, text: doc.toString(TEXT_OPTIONS) };
}

export interface OwnerConfigInput {
  /** The CAS Service name (upstream: whatever the selector returns; scone's controller names it NAME). */
  readonly serviceName: string;
  readonly pod: string;
  readonly namespace: string;
  /** The Service's ClusterIP (`SCONE_CAS_ADDR`); empty when the Service has none. */
  readonly clusterIp: string;
  readonly dcapKey: string;
  /** `--webhook URL`: audit log sink "network" with this URL. */
  readonly webhook?: string;
}

/** A TOML basic string (JSON's escapes are valid TOML for these values). */
function tomlString(value: string): string {
  return JSON.stringify(value);
}

/** The owner config upstream writes to `$TARGET_DIR/owner-config/config.toml` (§10.2 step 9), same layout. */
export function renderOwnerConfig(p: OwnerConfigInput): string {
  const svc = p.serviceName;
  const pod = p.pod;
  const ns = p.namespace;
  const alt = [
    pod,
    `${pod}.${ns}.svc.cluster.local`,
    `${pod}.${ns}`,
    `${svc}.${ns}.svc.cluster.local`,
    `${svc}.${ns}`,
    "localhost",
    p.clusterIp,
    "cas-instance",
    "host.docker.internal",
  ].map(tomlString);
  const sink = p.webhook ? "network" : "file";
  const webUrl = p.webhook ? `url = ${tomlString(p.webhook)}` : "";
  return `enclave_reconnect_timeout = "24h"
[api_identity]
common_name = ${tomlString(svc)}
alt_names = [${alt.slice(0, 1).join("")},  ${alt.slice(1, 3).join(", ")},  ${alt.slice(3).join(", ")} ]

[dcap]
subscription_key = ${tomlString(p.dcapKey)}

[audit_log]
mode = "signed"
sink = ${tomlString(sink)}
${webUrl}
`;
}

/** The owner identity JSON as upstream injects it into the backup policy: pretty-printed, indented 10 spaces. */
export function indentOwnerIdentity(json: string): string {
  return json
    .trimEnd()
    .split("\n")
    .map((line) => `          ${line}`)
    .join("\n");
}

const MRENCLAVE_RE = /^[0-9a-f]{64}$/;

/**
 * backup_policy.yaml with POLICY_NAME, SCONE_CLI_MRENCLAVE and OWNER_IDENTITY filled in (upstream's envsubst list).
 * The template is not YAML before substitution: `$OWNER_IDENTITY` stands unindented in a block scalar, relying on the
 * 10 spaces of the pasted text. Only that fixed placeholder is indented in the text; the identity itself is filled
 * in after parsing, as the value of the block scalar.
 */
export function renderBackupPolicy(
  ownerIdentityJson: string,
  template = BACKUP_POLICY_YAML,
  mrenclave = SCONE_CLI_MRENCLAVE,
): string {
  if (!MRENCLAVE_RE.test(mrenclave))
    throw new Error(`SCONE CLI MRENCLAVE ${mrenclave}: expected 64 lower-case hex digits`);
  const placeholder = "$OWNER_IDENTITY";
  const text = template.replace(
    /^[ \t]*\$(?:\{OWNER_IDENTITY\}|OWNER_IDENTITY)[ \t]*$/gm,
    indentOwnerIdentity(placeholder),
  );
  const doc = parseTemplate(text, "backup_policy.yaml");
  fillDocument(doc, { POLICY_NAME, SCONE_CLI_MRENCLAVE: mrenclave, OWNER_IDENTITY: ownerIdentityJson.trimEnd() });
  return doc.toString(TEXT_OPTIONS);
}

export interface JsonPatchOp {
  readonly op: "add" | "replace";
  readonly path: string;
  readonly value: unknown;
}

/** cas_patch_probes_and_backup.json / cas_patch_probes.json (6.0.6) as operations, variables substituted. */
export function postProvisioningPatch(p: { backup: boolean; backupControllerImage: string }): JsonPatchOp[] {
  const backup: JsonPatchOp[] = [
    { op: "replace", path: "/spec/backup-controller/enabled", value: true },
    { op: "replace", path: "/spec/backup-controller/session", value: BACKUP_CONTROLLER_SESSION },
    { op: "replace", path: "/spec/backup-controller/image", value: p.backupControllerImage },
  ];
  const probes: JsonPatchOp[] = [
    { op: "replace", path: "/spec/livenessProbe/enabled", value: true },
    { op: "replace", path: "/spec/livenessProbe/periodSeconds", value: 60 },
    { op: "replace", path: "/spec/livenessProbe/initialDelaySeconds", value: 3 },
    { op: "replace", path: "/spec/livenessProbe/timeoutSeconds", value: 60 },
    { op: "replace", path: "/spec/livenessProbe/failureThreshold", value: 5 },
    { op: "replace", path: "/spec/startupProbe/enabled", value: true },
    { op: "replace", path: "/spec/startupProbe/periodSeconds", value: 60 },
    { op: "replace", path: "/spec/startupProbe/initialDelaySeconds", value: 60 },
    { op: "replace", path: "/spec/startupProbe/timeoutSeconds", value: 60 },
    { op: "replace", path: "/spec/startupProbe/failureThreshold", value: 15 },
    { op: "replace", path: "/spec/attestedCLIProbes", value: false },
  ];
  return p.backup ? [...backup, ...probes] : probes;
}
