// What `scone operator install` was asked to do, resolved from its flags in one place (pure). The flags are
// upstream operator_controller's (SCONE-INTERFACE §11) plus the air-gapped mirror flags `scone images` and
// `scone manifests` share, so all three agree on every image reference.

import { parseCliNodeSelector } from "../../cas/driver/node-selector.ts";
import { durationProblem, durationSeconds } from "../../cli/duration.ts";
import { type BackupClaimOptions, resolveBackupClaim } from "../../install/backup-claim.ts";
import { DEFAULT_NAMESPACE, WEBHOOK_PORT } from "../../install/names.ts";
import { formatEntry, parseAllowedRegistries } from "../../operator/admission/registries.ts";
import { DEFAULT_IMAGE_REPO } from "../../resources/defaults.ts";
import {
  apiKey,
  type Grammar,
  grammarProblem,
  imagePrefix,
  imageReference,
  imageRegistry,
  namespaceName,
  normalizeRegistry,
  registryHost,
  sconeVersion,
} from "../../resources/grammar.ts";
import { DEFAULT_SCONE_SERVICE_VERSION } from "../../version.ts";

/** Registry of the pull secrets when neither --registry nor --image-registry names one (upstream REGISTRY). */
export const DEFAULT_PULL_REGISTRY = "registry.scontain.com";

/** Default per-step wait (seconds) for CRDs, webhooks and, with --wait, the operator Deployment. */
export const DEFAULT_TIMEOUT_SECONDS = 120;

export interface RegistryCredentials {
  readonly registry: string;
  readonly username: string;
  /** Never printed or logged; only its hash lands in an annotation. */
  readonly accessToken: string;
  readonly email: string;
}

export interface InstallFlowOptions {
  /** Operator namespace (-n, default scone-system). */
  readonly namespace: string;
  /** Extra service namespace to create (--create). */
  readonly serviceNamespace: string | undefined;
  /** "report": only say what differs; "reconcile": fix it; "update": re-apply everything. */
  readonly mode: "report" | "reconcile" | "update";
  readonly version: string;
  readonly imageRegistry: string;
  readonly imagePrefix: string;
  /** Full operator image reference (overrides registry, prefix and version for the operator only). */
  readonly operatorImage: string | undefined;
  /** --pin-digests: resolve every image's digest at the registry and reference it by digest. */
  readonly pinDigests: boolean;
  /** The digests resolved for --pin-digests, by component (set by the CLI before the flow runs). */
  readonly imageDigests?: Readonly<Record<string, string>>;
  readonly credentials: RegistryCredentials | undefined;
  readonly onlyOperator: boolean;
  readonly sgxPlugin: boolean;
  readonly nodeSelector: Readonly<Record<string, string>> | undefined;
  /** --operator-node-selector: where the operator pods run (upstream chart value `nodeSelector`). */
  readonly operatorNodeSelector: Readonly<Record<string, string>> | undefined;
  /** --cli-node-selector: where the operator creates the CASes' sconecli pods (default: operatorNodeSelector). */
  readonly cliNodeSelector: Readonly<Record<string, string>> | undefined;
  readonly dcapKey: string | undefined;
  /** Webhooks call a locally run operator at this address instead of the in-cluster Service (no Deployment). */
  readonly localOperator: { readonly host: string; readonly port: number } | undefined;
  /** --allowed-registries, passed to the operator Deployment; undefined: the operator's default. */
  readonly allowedRegistries: readonly string[] | undefined;
  /** --backup-claim, --backup-storage-size, --backup-storage-class: the operator's backup volume. */
  readonly backupClaim: BackupClaimOptions;
  /** --with-api: the REST API's Deployment and Service beside the operator. */
  readonly withApi: boolean;
  /** --monitoring: a ServiceMonitor and a PrometheusRule (src/install/monitoring.ts). */
  readonly monitoring: boolean;
  /** --metrics-secure: the operator Deployment serves /metrics over HTTPS to authorized tokens only. */
  readonly metricsSecure: boolean;
  readonly wait: boolean;
  /** Prove the operator image pullable by a pod before changing the CRDs or the operator (--no-pull-check: off). */
  readonly pullCheck: boolean;
  readonly timeoutSeconds: number;
  readonly verbose: boolean;
}

/** A flag value that is invalid; the message names the flag and the fix. */
export class InstallOptionError extends Error {
  override name = "InstallOptionError";
}

const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))
    return `the prefix "${prefix}" of label key "${key}" must be a DNS subdomain (lower-case letters, digits, "-", ".")`;
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name))
    return `label key "${key}" must be at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit`;
  return undefined;
}

/**
 * Parses --node-selector. Upstream pastes the value under `nodeSelector:` in the SGXPlugin manifest, so it is a
 * YAML mapping: `'sgx.intel.com/capable: "true"'`, several lines, or flow style `'{a: "1", b: "2"}'`. kubectl's
 * `k=v,k2=v2` is accepted too. Scalars become strings (a bare `true` would be refused by the CRD schema).
 */
export function parseNodeSelector(text: string, flag = "--node-selector"): Record<string, string> {
  const trimmed = text.trim();
  if (trimmed === "") throw new InstallOptionError(`${flag} is empty: give 'KEY: "VALUE"', e.g. 'sgx: "true"'`);
  let parsed: unknown;
  if (!trimmed.includes(":") && /^[^=,\s]+=[^=,\s]*(,[^=,\s]+=[^=,\s]*)*$/.test(trimmed)) {
    parsed = Object.fromEntries(trimmed.split(",").map((pair) => pair.split("=") as [string, string]));
  } else {
    const { parse } = require("yaml") as typeof import("yaml");
    try {
      parsed = parse(trimmed);
    } catch (e) {
      const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
      throw new InstallOptionError(`${flag} '${text}' is not a YAML mapping (${why}): give 'KEY: "VALUE"'`);
    }
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new InstallOptionError(`${flag} '${text}' is not a mapping: give 'KEY: "VALUE"', e.g. 'sgx: "true"'`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem) throw new InstallOptionError(`${flag}: ${keyProblem}`);
    if (value !== null && typeof value === "object") {
      throw new InstallOptionError(`${flag}: the value of "${key}" must be a string, not a list or mapping`);
    }
    const v = value === null ? "" : String(value);
    if (v.length > 63 || !LABEL_VALUE.test(v)) {
      throw new InstallOptionError(
        `${flag}: the value "${v}" of "${key}" must be at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit`,
      );
    }
    out[key] = v;
  }
  if (Object.keys(out).length === 0) throw new InstallOptionError(`${flag} '${text}' names no label`);
  return out;
}

/** The registry host of an image repository ("mirror.local:5000/scone" → "mirror.local:5000"). */
export function registryHostOf(imageRegistry: string): string {
  const first = imageRegistry.split("/")[0] ?? imageRegistry;
  // Docker's rule: a first component without "." or ":" (and not localhost) is a Docker Hub namespace.
  return first.includes(".") || first.includes(":") || first === "localhost" ? first : "docker.io";
}

/** "HOST:PORT", "[IPv6]:PORT" or "PORT" (host 127.0.0.1) → where a local operator serves its webhooks. */
export function parseLocalOperator(text: string): { host: string; port: number } {
  const m = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):)?(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) {
    throw new InstallOptionError(
      `invalid value '${text}' for --local-operator: expected HOST:PORT, e.g. 127.0.0.1:${WEBHOOK_PORT}`,
    );
  }
  return { host: m[1] ?? m[2] ?? "127.0.0.1", port };
}

type FlagValues = Readonly<Record<string, unknown>>;

/** The flags of the operator's backup claim (src/install/backup-claim.ts). */
const BACKUP_CLAIM_FLAGS: readonly string[] = ["backup-claim", "backup-storage-size", "backup-storage-class"];

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/**
 * The flag's value when valid by its grammar, else an InstallOptionError naming the flag: every value that reaches an
 * image reference, a manifest or a pull secret is checked before anything is applied.
 */
function checked(a: FlagValues, flag: string, grammar: Grammar, secret = false): string | undefined {
  const value = str(a[flag]);
  if (value === undefined) return undefined;
  const problem = grammarProblem(`--${flag}`, value, grammar, { secret });
  if (problem) throw new InstallOptionError(problem);
  return value;
}

/** The options from the parsed flags (validated by the CLI for shape; here for meaning). */
export function installOptionsFromFlags(a: FlagValues): InstallFlowOptions {
  const givenRegistry = checked(a, "image-registry", imageRegistry);
  const imageRegistryValue = givenRegistry === undefined ? DEFAULT_IMAGE_REPO : normalizeRegistry(givenRegistry);
  const username = str(a.username);
  const accessToken = str(a["access-token"]);
  const email = str(a.email);
  const registry =
    checked(a, "registry", registryHost) ??
    (givenRegistry ? registryHostOf(imageRegistryValue) : DEFAULT_PULL_REGISTRY);
  const selector = str(a["node-selector"]);
  const operatorSelector = str(a["operator-node-selector"]);
  const cliSelector = str(a["cli-node-selector"]);
  const local = str(a["local-operator"]);
  const timeout = str(a.timeout);
  const timeoutProblem = timeout === undefined ? undefined : durationProblem("timeout", timeout);
  if (timeoutProblem) throw new InstallOptionError(timeoutProblem);
  const registries = str(a["allowed-registries"]);
  if (operatorSelector !== undefined && local !== undefined) {
    throw new InstallOptionError(
      "--operator-node-selector places the operator Deployment, which --local-operator does not install: leave one of them out",
    );
  }
  if (cliSelector !== undefined && local !== undefined) {
    throw new InstallOptionError(
      "--cli-node-selector configures the operator Deployment, which --local-operator does not install: give it to the local 'scone operator --cli-node-selector' instead",
    );
  }
  const cliParsed = cliSelector === undefined ? undefined : parseCliNodeSelector(cliSelector);
  if (cliParsed && "problem" in cliParsed) throw new InstallOptionError(cliParsed.problem);
  if (a["pull-check"] === false && local !== undefined) {
    throw new InstallOptionError(
      "--no-pull-check skips the pull check of the operator image, which --local-operator does not install: leave one of them out",
    );
  }
  if (a["metrics-secure"] === true && local !== undefined) {
    throw new InstallOptionError(
      "--metrics-secure configures the operator Deployment, which --local-operator does not install: give it to the local 'scone operator --metrics-secure' instead",
    );
  }
  if (registries !== undefined && local !== undefined) {
    throw new InstallOptionError(
      "--allowed-registries configures the operator Deployment, which --local-operator does not install: give it to the local 'scone operator --allowed-registries' instead",
    );
  }
  if (a["with-api"] === true && local !== undefined) {
    throw new InstallOptionError(
      "--with-api deploys the API beside the operator Deployment, which --local-operator does not install: run 'scone api' locally instead",
    );
  }
  const backupClaim: BackupClaimOptions = {
    ...(str(a["backup-claim"]) ? { name: str(a["backup-claim"]) } : {}),
    ...(str(a["backup-storage-size"]) ? { size: str(a["backup-storage-size"]) } : {}),
    ...(str(a["backup-storage-class"]) ? { storageClass: str(a["backup-storage-class"]) } : {}),
  };
  const backupFlags = BACKUP_CLAIM_FLAGS.filter((k) => a[k] !== undefined && a[k] !== false);
  const emptyFlag = backupFlags.find((k) => a[k] === "");
  if (emptyFlag) throw new InstallOptionError(`--${emptyFlag} is empty: give a value or leave the flag out`);
  if (backupFlags.length > 0 && local !== undefined) {
    throw new InstallOptionError(
      `--${backupFlags[0]} configures the operator pod's backup volume, which --local-operator does not install: a local 'scone operator' keeps its backups under its --state-dir`,
    );
  }
  try {
    resolveBackupClaim(backupClaim);
  } catch (e) {
    throw new InstallOptionError(e instanceof Error ? e.message : String(e));
  }
  let allowedRegistries: string[] | undefined;
  try {
    allowedRegistries = registries === undefined ? undefined : parseAllowedRegistries(registries).map(formatEntry);
  } catch (e) {
    throw new InstallOptionError(e instanceof Error ? e.message : String(e));
  }
  const operatorNodeSelector =
    operatorSelector === undefined ? undefined : parseNodeSelector(operatorSelector, "--operator-node-selector");
  return {
    namespace: checked(a, "namespace", namespaceName) ?? DEFAULT_NAMESPACE,
    serviceNamespace: checked(a, "create", namespaceName),
    mode: a.update === true ? "update" : a.reconcile === true ? "reconcile" : "report",
    version: checked(a, "set-version", sconeVersion) ?? DEFAULT_SCONE_SERVICE_VERSION,
    imageRegistry: imageRegistryValue,
    imagePrefix: checked(a, "image-prefix", imagePrefix) ?? "",
    operatorImage: checked(a, "operator-image", imageReference),
    pinDigests: a["pin-digests"] === true,
    credentials: username && accessToken && email ? { registry, username, accessToken, email } : undefined,
    onlyOperator: a["only-operator"] === true,
    sgxPlugin: a.sgxplugin !== false,
    nodeSelector: selector === undefined ? undefined : parseNodeSelector(selector),
    operatorNodeSelector,
    // CLI pods run where the operator runs unless told otherwise.
    cliNodeSelector: cliParsed?.selector ?? operatorNodeSelector,
    dcapKey: checked(a, "dcap-api", apiKey, true),
    localOperator: local === undefined ? undefined : parseLocalOperator(local),
    allowedRegistries,
    backupClaim,
    withApi: a["with-api"] === true,
    monitoring: a.monitoring === true,
    metricsSecure: a["metrics-secure"] === true,
    wait: a.wait === true,
    pullCheck: a["pull-check"] !== false,
    timeoutSeconds: (timeout === undefined ? undefined : durationSeconds(timeout)) ?? DEFAULT_TIMEOUT_SECONDS,
    verbose: a.verbose === true || a.debug === true,
  };
}
