// The defaults the upstream operator's mutating webhooks apply (documented in the CRD field descriptions):
// images from the operator's SCONE version, the node selectors it injects, the SGX enclave limit, and the
// pods' namespace for cluster-scoped kinds. Pure: the caller passes the version and any randomness.

import { DEFAULT_SCONE_SERVICE_VERSION } from "../version.ts";
import type { CAS } from "./cas.ts";
import { grammarProblem, imagePrefix, imageRegistry } from "./grammar.ts";
import type { LAS } from "./las.ts";
import type { SGXPlugin } from "./sgx-plugin.ts";

export const DEFAULT_IMAGE_REPO = "registry.scontain.com/scone.cloud";
export const DEFAULT_OPERATOR_NAMESPACE = "scone-system";
export const SGX_ENCLAVE_RESOURCE = "sgx.intel.com/enclave";
/** Set on SGX nodes (by the SGXPlugin controller, NFD rules or installers); LAS runs there. */
export const SGX_CAPABLE_LABEL = "sgx.intel.com/capable";
/** Set by the LAS controller where a LAS pod is ready; CAS runs there. */
export const LAS_CAPABLE_LABEL = "las.scontain.com/capable";
export const CAS_NODE_LABEL = LAS_CAPABLE_LABEL;
export const LAS_NODE_LABEL = SGX_CAPABLE_LABEL;

export interface WebhookDefaultsOptions {
  /** SCONE release of the images (upstream: GLOBAL_SCONE_VERSION of the operator). */
  serviceVersion?: string;
  /** Registry and path of the images (a mirror in air-gapped clusters). */
  imageRepo?: string;
  /** Prefix of every image name in the mirror, e.g. "osc-". */
  imagePrefix?: string;
  /** Digests pinned at install (--pin-digests): default images of that version are referenced by digest. */
  imageDigests?: PinnedDigests;
  /** Namespace of the LAS and SGX plugin pods when the resource names none (upstream: the operator's). */
  operatorNamespace?: string;
  /** Makes a CAS nonce when the CAS has none (32 hex characters); without it, spec.nonce stays unset. */
  newNonce?: () => string;
}

type Options = Required<Omit<WebhookDefaultsOptions, "newNonce" | "imageDigests">> &
  Pick<WebhookDefaultsOptions, "newNonce" | "imageDigests">;

/** Manifest digests of one SCONE version's images by component (`scone operator install --pin-digests`). */
export interface PinnedDigests {
  readonly version: string;
  readonly byComponent: Readonly<Record<string, string>>;
}

function resolve(opts: WebhookDefaultsOptions): Options {
  return {
    serviceVersion: opts.serviceVersion ?? DEFAULT_SCONE_SERVICE_VERSION,
    imageRepo: (opts.imageRepo ?? DEFAULT_IMAGE_REPO).replace(/\/+$/, ""),
    imagePrefix: opts.imagePrefix ?? "",
    operatorNamespace: opts.operatorNamespace ?? DEFAULT_OPERATOR_NAMESPACE,
    newNonce: opts.newNonce,
    imageDigests: opts.imageDigests,
  };
}

/** Where every SCONE image comes from: a registry path and a name prefix (a mirror in air-gapped clusters). */
export interface ImageMirror {
  readonly imageRepo?: string;
  readonly imagePrefix?: string;
  readonly imageDigests?: PinnedDigests;
}

const DIGEST_ENTRY = /^([a-z0-9][a-z0-9-]*)=(sha256:[a-f0-9]{64})$/;

/** The SCONE_IMAGE_DIGESTS value of a digest map, sorted by component (stable manifests). */
export function formatImageDigests(byComponent: Readonly<Record<string, string>>): string {
  return Object.keys(byComponent)
    .sort()
    .map((c) => `${c}=${byComponent[c]}`)
    .join(",");
}

/** SCONE_IMAGE_DIGESTS "cas=sha256:…,las=sha256:…" (set by --pin-digests) for `version`; bad entries refused. */
export function parseImageDigests(value: string, version: string): PinnedDigests {
  const byComponent: Record<string, string> = {};
  for (const entry of value.split(",").filter(Boolean)) {
    const m = DIGEST_ENTRY.exec(entry.trim());
    if (!m) throw new Error(`SCONE_IMAGE_DIGESTS: '${entry.slice(0, 100)}' is not COMPONENT=sha256:<64 hex>`);
    byComponent[m[1] as string] = m[2] as string;
  }
  return { version, byComponent };
}

/**
 * The mirror the operator was installed with: SCONE_IMAGE_REGISTRY/SCONE_IMAGE_PREFIX on its Deployment
 * (src/install/operator.ts), else upstream's IMAGE_REPO/IMAGE_PREFIX. Every renderer in the operator takes this.
 */
export function imageMirrorFromEnv(env: Readonly<Record<string, string | undefined>>): ImageMirror {
  const repoVar = env.SCONE_IMAGE_REGISTRY ? "SCONE_IMAGE_REGISTRY" : "IMAGE_REPO";
  const prefixVar = env.SCONE_IMAGE_PREFIX ? "SCONE_IMAGE_PREFIX" : "IMAGE_PREFIX";
  const repo = env[repoVar];
  const prefix = env[prefixVar];
  // The values reach every image the operator renders: refused at start, naming the variable, like the flags.
  const problem =
    (repo ? grammarProblem(repoVar, repo, imageRegistry) : undefined) ??
    (prefix ? grammarProblem(prefixVar, prefix, imagePrefix) : undefined);
  if (problem) throw new Error(problem);
  const digests = env.SCONE_IMAGE_DIGESTS
    ? parseImageDigests(env.SCONE_IMAGE_DIGESTS, env.GLOBAL_SCONE_VERSION ?? DEFAULT_SCONE_SERVICE_VERSION)
    : undefined;
  return {
    ...(repo ? { imageRepo: repo } : {}),
    ...(prefix ? { imagePrefix: prefix } : {}),
    ...(digests ? { imageDigests: digests } : {}),
  };
}

/** `image` with `version` as tag when it has neither tag nor digest ("…/cas" → "…/cas:6.0.6"). */
export function imageWithTag(image: string, version: string): string {
  if (image.includes("@")) return image;
  const name = image.slice(image.lastIndexOf("/") + 1);
  return name.includes(":") ? image : `${image}:${version}`;
}

/** The default image of a SCONE component, e.g. `registry.scontain.com/scone.cloud/cas:6.0.6`. */
export function defaultImage(component: string, opts: WebhookDefaultsOptions = {}): string {
  const o = resolve(opts);
  const ref = `${o.imageRepo}/${o.imagePrefix}${component}:${o.serviceVersion}`;
  // Pinned only for the version the digests were resolved for: another version's tag names other images.
  const digest = o.imageDigests?.version === o.serviceVersion ? o.imageDigests.byComponent[component] : undefined;
  return digest ? `${ref}@${digest}` : ref;
}

function imageOrDefault(image: string | undefined, component: string, o: Options): string {
  return image === undefined || image === "" ? defaultImage(component, o) : imageWithTag(image, o.serviceVersion);
}

const isZeroQuantity = (q: number | string | undefined): boolean =>
  q === undefined || q === 0 || (typeof q === "string" && /^[+-]?0*(\.0*)?[a-zA-Z]*$/.test(q));

/** resources with limits[sgx.intel.com/enclave] = 1 unless a positive quantity is given. */
function withEnclaveLimit<R extends { limits?: Record<string, number | string> }>(resources: R | undefined): R {
  const r = { ...resources } as R;
  const limits = { ...r.limits };
  if (isZeroQuantity(limits[SGX_ENCLAVE_RESOURCE])) limits[SGX_ENCLAVE_RESOURCE] = 1;
  r.limits = limits;
  return r;
}

function withLabel(selector: Record<string, string> | undefined, key: string): Record<string, string> {
  return selector !== undefined && key in selector ? { ...selector } : { ...selector, [key]: "true" };
}

/** What CAS and LAS (enclaves) both get: the image, a node selector requiring `nodeLabel`, one SGX device. */
function enclaveDefaults<
  S extends { image?: string; nodeSelector?: Record<string, string>; resources?: R },
  R extends { limits?: Record<string, number | string> },
>(spec: S, component: string, nodeLabel: string, o: Options): S {
  return {
    ...spec,
    image: imageOrDefault(spec.image, component, o),
    nodeSelector: withLabel(spec.nodeSelector, nodeLabel),
    resources: withEnclaveLimit(spec.resources),
  };
}

export function casWebhookDefaults(cas: CAS, opts: WebhookDefaultsOptions = {}): CAS {
  const o = resolve(opts);
  const spec = enclaveDefaults({ ...cas.spec }, "cas", CAS_NODE_LABEL, o);
  if (spec.nonce === undefined && o.newNonce) spec.nonce = o.newNonce();
  const bc = spec["backup-controller"];
  if (bc !== undefined) {
    spec["backup-controller"] = {
      ...bc,
      image: imageOrDefault(bc.image, "backup-controller", o),
      ...(bc.imagePullSecrets === undefined && spec.imagePullSecrets !== undefined
        ? { imagePullSecrets: structuredClone(spec.imagePullSecrets) }
        : {}),
    };
  }
  if (spec.safetyService !== undefined) {
    spec.safetyService = {
      ...spec.safetyService,
      image: imageOrDefault(spec.safetyService.image, "cas-safety-service", o),
    };
  }
  return { ...cas, spec };
}

export function lasWebhookDefaults(las: LAS, opts: WebhookDefaultsOptions = {}): LAS {
  const o = resolve(opts);
  const spec = enclaveDefaults({ ...las.spec }, "las", LAS_NODE_LABEL, o);
  if (spec.namespace === undefined || spec.namespace === "") spec.namespace = o.operatorNamespace;
  return { ...las, spec };
}

export function sgxPluginWebhookDefaults(plugin: SGXPlugin, opts: WebhookDefaultsOptions = {}): SGXPlugin {
  const o = resolve(opts);
  const spec = { ...plugin.spec };
  spec.image = imageOrDefault(spec.image, "sgx-plugin", o);
  if (spec.namespace === undefined || spec.namespace === "") spec.namespace = o.operatorNamespace;
  return { ...plugin, spec };
}

/** The webhook defaults of any kind that has them; other kinds come back unchanged. */
export function applyWebhookDefaults<T extends { kind?: string }>(resource: T, opts: WebhookDefaultsOptions = {}): T {
  switch (resource.kind) {
    case "CAS":
      return casWebhookDefaults(resource as unknown as CAS, opts) as unknown as T;
    case "LAS":
      return lasWebhookDefaults(resource as unknown as LAS, opts) as unknown as T;
    case "SGXPlugin":
      return sgxPluginWebhookDefaults(resource as unknown as SGXPlugin, opts) as unknown as T;
    default:
      return resource;
  }
}
