// Options of the install manifests and their defaults, resolved in one place.
import { DEFAULT_IMAGE_REPO } from "../resources/defaults.ts";
import {
  type Grammar,
  grammarProblem,
  imageReference,
  namespaceName,
  normalizeRegistry,
  imagePrefix as prefixGrammar,
  imageRegistry as registryGrammar,
  sconeVersion,
} from "../resources/grammar.ts";
import { DEFAULT_SCONE_SERVICE_VERSION } from "../version.ts";
import { type BackupClaimOptions, type ResolvedBackupClaim, resolveBackupClaim } from "./backup-claim.ts";
import { operatorImage } from "./images.ts";
import { DEFAULT_NAMESPACE, WEBHOOK_PORT } from "./names.ts";

/** How the API server reaches the admission webhooks. */
export type WebhookMode =
  /** In-cluster: through the Service scone-webhook-service (the operator runs as the Deployment). */
  | { readonly mode: "service" }
  /**
   * A URL: the operator runs as a local process next to the API server (KWOK clusters run no real pods).
   * No Deployment and no Services are rendered then: the process is the operator.
   */
  | { readonly mode: "url"; readonly host?: string; readonly port?: number };

export interface InstallOptions {
  /** Namespace of the operator (default scone-system). */
  readonly namespace?: string;
  /** SCONE version: tag of the SCONE service images and GLOBAL_SCONE_VERSION (default: the bundled one). */
  readonly version?: string;
  /** Registry and path of the images, e.g. a mirror (default registry.scontain.com/scone.cloud). */
  readonly imageRegistry?: string;
  /** Prefix of every image name in the registry. */
  readonly imagePrefix?: string;
  /** Full operator image reference; default: scone's own image (images.ts) under imageRegistry and imagePrefix. */
  readonly operatorImage?: string;
  /** Node selector of the operator pod (upstream chart value `nodeSelector`). */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** Where the operator creates the CASes' sconecli pods (`scone operator --cli-node-selector`); default nodeSelector. */
  readonly cliNodeSelector?: Readonly<Record<string, string>>;
  /** Registries tenant resources may take images from (`scone operator --allowed-registries`); unset: its default. */
  readonly allowedRegistries?: readonly string[];
  readonly webhook?: WebhookMode;
  /**
   * Limit the webhooks to objects with these labels (objectSelector). Unset in production; tests sharing a
   * cluster use it so their webhooks do not admit other tests' objects.
   */
  readonly webhookObjectSelector?: Readonly<Record<string, string>>;
  /** The claim of the operator's backup directory (only rendered with the Deployment, i.e. webhook mode service). */
  readonly backupClaim?: BackupClaimOptions;
  /** `--with-api`: deploy `scone api --kube-auth` beside the operator (Deployment and Service; webhook mode service). */
  readonly withApi?: boolean;
  /** A ServiceMonitor and a PrometheusRule (prometheus-operator's CRDs must be served): --monitoring. */
  readonly monitoring?: boolean;
  /** The operator serves /metrics over HTTPS to authorized tokens only (`scone operator --metrics-secure`). */
  readonly metricsSecure?: boolean;
  /** --pin-digests: manifest digest of each SCONE image by component, passed to the operator (SCONE_IMAGE_DIGESTS). */
  readonly imageDigests?: Readonly<Record<string, string>>;
}

export interface ResolvedInstallOptions {
  readonly namespace: string;
  readonly version: string;
  readonly imageRegistry: string;
  readonly imagePrefix: string;
  readonly operatorImage: string;
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly cliNodeSelector: Readonly<Record<string, string>>;
  readonly allowedRegistries: readonly string[] | undefined;
  readonly webhook:
    | { readonly mode: "service" }
    | { readonly mode: "url"; readonly host: string; readonly port: number };
  readonly webhookObjectSelector: Readonly<Record<string, string>> | undefined;
  readonly backupClaim: ResolvedBackupClaim;
  readonly withApi: boolean;
  readonly monitoring: boolean;
  readonly metricsSecure: boolean;
  readonly imageDigests: Readonly<Record<string, string>> | undefined;
}

/** Every option that reaches an image reference or a manifest is checked by its grammar (the message names the flag). */
function refuseInvalid(flag: string, value: string | undefined, grammar: Grammar): void {
  const problem = value === undefined ? undefined : grammarProblem(flag, value, grammar);
  if (problem) throw new Error(problem);
}

export function resolveInstallOptions(opts: InstallOptions = {}): ResolvedInstallOptions {
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  refuseInvalid("--namespace", namespace, namespaceName);
  refuseInvalid("--set-version", opts.version, sconeVersion);
  refuseInvalid("--image-registry", opts.imageRegistry, registryGrammar);
  refuseInvalid("--image-prefix", opts.imagePrefix, prefixGrammar);
  refuseInvalid("--operator-image", opts.operatorImage, imageReference);
  const backupClaim = resolveBackupClaim(opts.backupClaim);
  const version = opts.version ?? DEFAULT_SCONE_SERVICE_VERSION;
  const imageRegistry = normalizeRegistry(opts.imageRegistry ?? DEFAULT_IMAGE_REPO);
  const imagePrefix = opts.imagePrefix ?? "";
  const webhook = opts.webhook ?? { mode: "service" };
  if (opts.withApi && webhook.mode !== "service") {
    throw new Error(
      "--with-api deploys the API beside the operator Deployment, which --local-operator does not install: run 'scone api' locally instead",
    );
  }
  return {
    namespace,
    version,
    imageRegistry,
    imagePrefix,
    operatorImage: opts.operatorImage ?? operatorImage(imageRegistry, imagePrefix),
    nodeSelector: { ...(opts.nodeSelector ?? {}) },
    imageDigests: opts.imageDigests ? { ...opts.imageDigests } : undefined,
    // CLI pods run where the operator runs unless told otherwise.
    cliNodeSelector: { ...(opts.cliNodeSelector ?? opts.nodeSelector ?? {}) },
    allowedRegistries: opts.allowedRegistries?.length ? [...opts.allowedRegistries] : undefined,
    webhook:
      webhook.mode === "service"
        ? { mode: "service" }
        : { mode: "url", host: webhook.host ?? "127.0.0.1", port: webhook.port ?? WEBHOOK_PORT },
    webhookObjectSelector: opts.webhookObjectSelector,
    backupClaim,
    withApi: opts.withApi === true,
    monitoring: opts.monitoring === true,
    metricsSecure: opts.metricsSecure === true,
  };
}
