// What a Scone resource asks for, as objects (pure): the SGXPlugin `sgxplugin` and the LAS `las` shaped like
// upstream's sgxplugin.yaml / las.yaml, an UNPROVISIONED CAS shaped like upstream's cas_provisioning.yaml (unless
// skipCas), and the copy of the backup bucket's credentials in the services namespace. Every image is the SCONE
// version the stack asks for. The LAS, SGXPlugin and CAS controllers then reconcile these resources.
import type { V1Secret } from "@kubernetes/client-node";
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import { casDefinition } from "../../resources/cas.ts";
import { DEFAULT_IMAGE_REPO, defaultImage, type PinnedDigests } from "../../resources/defaults.ts";
import { apiVersionOf } from "../../resources/definition.ts";
import { lasDefinition } from "../../resources/las.ts";
import { type Scone, type SconeSpec, sconeDefinition } from "../../resources/scone.ts";
import { applyDefaults } from "../../resources/validation.ts";
import { desiredHash } from "../../runtime/drift.ts";

export const SCONE_TYPE: TypeRef = { apiVersion: apiVersionOf(sconeDefinition), kind: "Scone" };
export const STACK_LAS_TYPE: TypeRef = { apiVersion: apiVersionOf(lasDefinition), kind: "LAS" };
export const STACK_SGXPLUGIN_TYPE: TypeRef = { apiVersion: apiVersionOf(lasDefinition), kind: "SGXPlugin" };
export const STACK_CAS_TYPE: TypeRef = { apiVersion: apiVersionOf(casDefinition), kind: "CAS" };
export const SECRET_TYPE: TypeRef = { apiVersion: "v1", kind: "Secret" };

/** Names of the stack's objects: upstream's fixed names (operator_controller creates `las` and `sgxplugin`). */
export const STACK_NAMES = {
  sgxPlugin: "sgxplugin",
  las: "las",
  cas: "cas",
  /** The copy of spec.backup.s3Creds.secret in the services namespace. */
  backupCredentials: "scone-backup-s3",
} as const;

/** The label that marks the stack's objects, so `kubectl get las,sgxplugin,cas -A -l …` finds them. */
export const STACK_LABEL = "confidential.security.osc.t-systems.com/stack";

/** The spec with its schema defaults, so leaving out a defaulted field and writing the default hash equally. */
export function effectiveSpec(scone: Pick<Scone, "spec">): SconeSpec {
  const spec = applyDefaults("Scone", { spec: scone.spec ?? {} }).spec as SconeSpec;
  return spec;
}

/** status.deployedSpec: a hash over all spec fields (defaults applied). */
export const specHash = (scone: Pick<Scone, "spec">): string => desiredHash(effectiveSpec(scone));

export interface StackRenderOptions {
  /** Services namespace: the operator's (LAS/SGX plugin pods, the CAS, the credentials copy). */
  readonly namespace: string;
  /** Registry of the images (air-gapped mirror); default registry.scontain.com/scone.cloud. */
  readonly imageRepo?: string;
  readonly imagePrefix?: string;
  /** Digests pinned at install (--pin-digests, SCONE_IMAGE_DIGESTS). */
  readonly imageDigests?: PinnedDigests;
  /** The CAS nonce (32 hex) used when the CAS is created. */
  readonly casNonce: string;
  /** The DCAP key of the LAS that exists (upstream: the LAS keeps its key when re-applied). */
  readonly existingDcapKey?: string;
  /** The secret spec.backup.s3Creds names, as read from its namespace. */
  readonly backupCredentials?: V1Secret;
  /** The SCONE version of the LAS and SGX plugin images when not spec.serviceVersion (held back: upgrade.ts). */
  readonly nodeAgentVersion?: string;
}

const PULL_ANNOTATION_OPERATOR = { "scone-operator/inject-pull-secret": "true" };
const PULL_ANNOTATION_APPS = { "sconeapps/inject-pull-secret": "true" };

function image(component: string, spec: SconeSpec, o: StackRenderOptions, version = spec.serviceVersion): string {
  return defaultImage(component, {
    serviceVersion: version,
    imageRepo: o.imageRepo ?? DEFAULT_IMAGE_REPO,
    imagePrefix: o.imagePrefix ?? "",
    ...(o.imageDigests ? { imageDigests: o.imageDigests } : {}),
  });
}

const selectorOf = (spec: SconeSpec): Record<string, string> | undefined =>
  spec.serviceNodeSelector && Object.keys(spec.serviceNodeSelector).length > 0
    ? { ...spec.serviceNodeSelector }
    : undefined;

const stackMeta = (scone: Scone, name: string, namespace?: string) => ({
  name,
  ...(namespace ? { namespace } : {}),
  labels: { [STACK_LABEL]: scone.metadata.name ?? "" },
});

/** The SGX plugin and the LAS (cluster-scoped), pods in the services namespace, on the service nodes. */
export function renderNodeAgents(scone: Scone, o: StackRenderOptions): KubeObject[] {
  const spec = effectiveSpec(scone);
  const nodeSelector = selectorOf(spec);
  const common = {
    imagePullSecrets: [{ name: "scone-operator-pull" }],
    imagePullPolicy: "Always",
    namespace: o.namespace,
    podAnnotations: { ...PULL_ANNOTATION_OPERATOR },
    ...(nodeSelector ? { nodeSelector } : {}),
  };
  const sgxPlugin = {
    ...STACK_SGXPLUGIN_TYPE,
    metadata: stackMeta(scone, STACK_NAMES.sgxPlugin),
    spec: { image: image("sgx-plugin", spec, o, o.nodeAgentVersion), ...common },
  };
  const las = {
    ...STACK_LAS_TYPE,
    metadata: stackMeta(scone, STACK_NAMES.las),
    spec: {
      image: image("las", spec, o, o.nodeAgentVersion),
      ...common,
      ...(o.existingDcapKey ? { dcapKey: o.existingDcapKey } : {}),
    },
  };
  return [sgxPlugin, las] as KubeObject[];
}

/**
 * The CAS as upstream's first, unprovisioned stage (cas_provisioning.yaml + the nonce the plugin appends): no
 * backup controller and no probes yet — `scone cas provision` adds them once it owns the CAS.
 */
export function renderUnprovisionedCas(scone: Scone, o: StackRenderOptions): KubeObject {
  const spec = effectiveSpec(scone);
  return {
    ...STACK_CAS_TYPE,
    metadata: stackMeta(scone, STACK_NAMES.cas, o.namespace),
    spec: {
      image: image("cas", spec, o),
      imagePullSecrets: [{ name: "sconeapps" }],
      service: { type: "NodePort" },
      imagePullPolicy: "Always",
      persistence: { enabled: true },
      databaseSnapshots: { enabled: true, interval: "24h0m0s", persistence: { enabled: true } },
      podAnnotations: { ...PULL_ANNOTATION_APPS },
      "backup-controller": { enabled: false },
      nodeSelector: { "las.scontain.com/ok": "true", ...selectorOf(spec) },
      nonce: o.casNonce,
    },
  } as KubeObject;
}

/** The bucket credentials copied into the services namespace (data and type only: not the source's metadata). */
export function renderBackupCredentials(scone: Scone, o: StackRenderOptions): V1Secret | undefined {
  const source = o.backupCredentials;
  if (!source) return undefined;
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: stackMeta(scone, STACK_NAMES.backupCredentials, o.namespace),
    type: source.type ?? "Opaque",
    data: { ...source.data },
  };
}

/** Every object of the stack except the CAS (created once, then left to its owner: see the controller). */
export function renderStack(scone: Scone, o: StackRenderOptions): KubeObject[] {
  const credentials = renderBackupCredentials(scone, o);
  return [...renderNodeAgents(scone, o), ...(credentials ? [credentials as KubeObject] : [])];
}
