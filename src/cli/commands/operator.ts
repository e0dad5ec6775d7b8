// `scone operator` runs the operator (in a pod or locally); `scone operator install` mirrors the upstream
// `operator_controller` installer flags (SCONE-INTERFACE §11); `scone operator history` reads the store.
import { parseAllowedRegistries } from "../../operator/admission/registries.ts";
import { command, lazyRun } from "../define.ts";
import {
  CAS_DRIVER_GLOBALS,
  checkNamespace,
  checkPort,
  checkPositiveInt,
  checkVersion,
  exclusive,
  INSTALL_PLACEMENT_ARGS,
  timeoutArg,
  together,
} from "../globals.ts";
import type { FlagValues, SconeCommand } from "../spec.ts";
import { BACKUP_CLAIM_ARGS, WITH_API_ARG } from "./backup-claim-args.ts";
import { MONITORING_ARG } from "./monitoring-args.ts";

function allowedRegistriesProblem(value: string): string | undefined {
  try {
    parseAllowedRegistries(value);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Shared by `scone operator` and `scone operator install` (which passes it on to the operator Deployment). */
const ALLOWED_REGISTRIES_FLAG = {
  type: "string",
  valueHint: "HOST[/PATH],…",
  description:
    "Registries CAS and Vault resources may take images from (default: registry.scontain.com); the --image-registry mirror is always allowed",
  check: allowedRegistriesProblem,
} as const;

const PLUGIN_HINT =
  "scone is its own kubectl plugin: link it as kubectl-provision, e.g. 'ln -s \"$(command -v scone)\" ~/.local/bin/kubectl-provision'";

export function installChecks(values: FlagValues): string | undefined {
  return (
    together(values, ["username", "access-token", "email"]) ??
    exclusive(values, ["helm-use-configmap", "helm-use-secret"])
  );
}

const install = command({
  meta: {
    name: "install",
    description: "Install or reconcile the operator, LAS and SGX plugin (upstream: operator_controller)",
  },
  args: {
    reconcile: { type: "boolean", alias: "r", description: "Fix what differs (default: only report)" },
    update: { type: "boolean", alias: "u", description: "Update everything to this version (implies --reconcile)" },
    create: {
      type: "string",
      alias: "c",
      valueHint: "NS",
      description: "Create this service namespace",
      check: (v) => checkNamespace(v)?.replace("--namespace", "--create"),
    },
    username: { type: "string", valueHint: "USER", description: "Registry user (with --access-token and --email)" },
    "access-token": {
      type: "string",
      valueHint: "TOKEN",
      description: "Registry access token (with --username and --email)",
    },
    email: { type: "string", valueHint: "EMAIL", description: "Registry e-mail (with --username and --access-token)" },
    "only-operator": { type: "boolean", description: "Install the operator only, not LAS and SGX plugin" },
    sgxplugin: {
      type: "boolean",
      default: true,
      description: "Install the SGX device plugin",
      negativeDescription: "Do not install the SGX device plugin",
    },
    ...INSTALL_PLACEMENT_ARGS,
    "set-version": {
      type: "string",
      valueHint: "VERSION",
      description: "SCONE version to install",
      check: checkVersion("set-version"),
    },
    "image-registry": {
      type: "string",
      valueHint: "URL",
      description: "Image repository (default: registry.scontain.com/scone.cloud)",
    },
    "image-prefix": { type: "string", valueHint: "PREFIX", description: "Prefix of the image names" },
    "operator-image": {
      type: "string",
      valueHint: "IMAGE",
      description: "Full operator image reference (overrides registry, prefix and version for the operator)",
    },
    "pin-digests": {
      type: "boolean",
      description:
        "Reference the operator image and the SCONE images it deploys by digest, resolved at the registry now " +
        "(with the signature check: the digests it verified), so what runs is what was mirrored",
    },
    registry: {
      type: "string",
      valueHint: "HOST",
      description: "Registry of the pull secrets (default: the host of --image-registry, else registry.scontain.com)",
    },
    "local-operator": {
      type: "string",
      valueHint: "HOST:PORT",
      description:
        "The operator runs as a local process (e.g. on KWOK clusters): no Deployment; the webhooks call https://HOST:PORT, where 'scone operator --webhook-mode url --webhook-port PORT' serves them",
    },
    "allowed-registries": ALLOWED_REGISTRIES_FLAG,
    ...BACKUP_CLAIM_ARGS,
    ...WITH_API_ARG,
    ...MONITORING_ARG,
    wait: { type: "boolean", description: "Wait until the operator Deployment is Available (bounded by --timeout)" },
    "pull-check": {
      type: "boolean",
      default: true,
      description:
        "Before changing the CRDs or the operator, prove the operator image pullable with a pod on a node where the operator may run",
      negativeDescription: "Skip that check (e.g. when only simulated nodes would run the pod, which proves nothing)",
    },
    verbose: { type: "boolean", alias: "v", description: "Verbose output (same as --log-level debug)" },
    debug: { type: "boolean", description: "Debug output (same as --log-level debug)" },
    timeout: timeoutArg("How long each wait may take, e.g. 90s or 5m (default 2m)"),
    plugin: {
      type: "boolean",
      description: "Upstream: install the kubectl-provision plugin",
      upstream: { note: `--plugin is ignored: ${PLUGIN_HINT}` },
    },
    "only-plugin": {
      type: "boolean",
      description: "Upstream: install only the kubectl plugin",
      upstream: { refuse: PLUGIN_HINT },
    },
    "plugin-path": {
      type: "string",
      valueHint: "PATH",
      description: "Upstream: where to install the kubectl plugin",
      upstream: { refuse: PLUGIN_HINT },
    },
    "secret-operator": {
      type: "boolean",
      description: "Upstream: install the image-pull-secret operator",
      upstream: { note: "--secret-operator is ignored: scone creates the pull secrets itself" },
    },
    "helm-use-configmap": {
      type: "boolean",
      description: "Upstream: helm storage driver",
      upstream: { note: "--helm-use-configmap is ignored: scone does not use helm" },
    },
    "helm-use-secret": {
      type: "boolean",
      description: "Upstream: helm storage driver",
      upstream: { note: "--helm-use-secret is ignored: scone does not use helm" },
    },
    "verify-image-signatures": {
      type: "string",
      valueHint: "PUBKEY",
      description:
        "PEM public key (cosign.pub) the images' cosign signatures must verify with (default: the Scontain key), e.g. a mirror's own key",
    },
    "image-signature-check": {
      type: "boolean",
      default: true,
      description: "Before applying, verify the cosign signature of every image the install deploys",
      negativeDescription: "Skip the image signature check (an explicit opt-out, reported)",
    },
  },
  globals: ["kubeconfig", "context", "namespace", "log-level", "output"],
  checks: installChecks,
  notes: [
    "The operator namespace is -n/--namespace (default: scone-system), as upstream.",
    "Without --reconcile or --update it only reports what differs: exit code 0 when nothing differs, 3 when something does.",
    "Unlike upstream 6.x, an existing vaults.services.scone.cloud CRD does not stop the install: scone still serves Vault (a warning says so).",
    "Example: scone operator install --reconcile --update --dcap-api $DCAP_KEY --username U --access-token T --email E",
  ],
  run: lazyRun(() => import("../run/operator-install.ts")),
});

const uninstall = command({
  meta: { name: "uninstall", description: "Remove what 'scone operator install' created: operator, webhooks, RBAC" },
  args: {
    yes: { type: "boolean", alias: "y", description: "Delete (default: only report what would be deleted)" },
    crds: {
      type: "boolean",
      description:
        "Delete the CRDs too: this deletes every SCONE resource (CAS, LAS, Vault, policies, Scone) with them",
    },
    force: { type: "boolean", description: "Go on although SCONE resources exist (with --crds: delete them)" },
    verbose: { type: "boolean", alias: "v", description: "Also list what is already absent" },
    timeout: timeoutArg("How long to wait for LAS, SGXPlugin and CRDs to be deleted, e.g. 5m (default 2m)"),
  },
  globals: ["kubeconfig", "context", "namespace", "log-level", "output"],
  notes: [
    "Webhook configurations go first, then install's LAS and SGXPlugin (and with --crds the CRDs) while the operator still runs their finalizers, then the operator and its RBAC.",
    "Refuses, before deleting anything, while SCONE resources exist, unless --force. Kept always: the namespace, its pull secrets and every PersistentVolumeClaim (CAS volumes, the operator's backup claim), even with --crds.",
    "Without --yes it only reports: exit code 0 when nothing is left to remove, 3 when something is.",
  ],
  run: lazyRun(() => import("../run/operator-uninstall.ts")),
});

const history = command({
  meta: { name: "history", description: "Show what the operator did: one row per reconcile, newest first" },
  args: {
    resource: {
      type: "positional",
      required: false,
      valueHint: "KIND[/NAME]",
      description: "Only this kind or object, e.g. cas/mycas",
    },
    limit: {
      type: "string",
      default: "50",
      valueHint: "N",
      description: "Show at most N entries",
      check: checkPositiveInt("limit"),
    },
  },
  globals: ["kubeconfig", "context", "namespace", "state-dir", "log-level", "output"],
  notes: [
    "Reads the cluster: the leader writes the last 20 outcomes of each resource to a ConfigMap beside it (scone-history-KIND-NAME; cluster-scoped kinds: in the operator's namespace), so every replica and a laptop see the same history. -n reads only that namespace.",
    "With --state-dir it reads that state store instead (what `scone operator` recorded there, every reconcile).",
  ],
  run: lazyRun(() => import("../run/history.ts")),
});

export const operatorCommand: SconeCommand = command({
  meta: { name: "operator", description: "Run the operator, install it, or show its history" },
  args: {
    "metrics-port": {
      type: "string",
      default: "8080",
      valueHint: "PORT",
      description: "Port of /metrics",
      check: checkPort("metrics-port"),
    },
    "metrics-secure": {
      type: "boolean",
      description:
        "Serve /metrics over HTTPS, only to callers whose bearer token a TokenReview accepts and a SubjectAccessReview allows 'get /metrics' (kubebuilder's default; docs/monitoring.md)",
    },
    "metrics-cert-dir": {
      type: "string",
      valueHint: "DIR",
      description:
        "With --metrics-secure: the directory holding tls.crt and tls.key of /metrics (default: self-signed)",
    },
    "probe-port": {
      type: "string",
      default: "8081",
      valueHint: "PORT",
      description: "Port of /healthz and /readyz",
      check: checkPort("probe-port"),
    },
    "leader-elect": { type: "boolean", description: "Take a Lease before reconciling (run several replicas safely)" },
    "webhook-port": {
      type: "string",
      default: "9443",
      valueHint: "PORT",
      description: "Port of the admission webhooks (HTTPS)",
      check: checkPort("webhook-port"),
    },
    "webhook-mode": {
      type: "enum",
      options: ["service", "url", "off"],
      description:
        "How the API server reaches the webhooks: service (in-cluster), url (https://HOST:PORT, for a local process), off. Default: service in a pod, url elsewhere",
    },
    "webhook-host": {
      type: "string",
      valueHint: "HOST",
      description: "Address the API server calls in url mode (default 127.0.0.1)",
    },
    "allowed-registries": ALLOWED_REGISTRIES_FLAG,
  },
  globals: ["kubeconfig", "context", "namespace", "state-dir", "log-level", ...CAS_DRIVER_GLOBALS],
  printsNoData: "it runs the operator until stopped; its log goes to stderr",
  notes: [
    "Without a subcommand, runs the operator in the foreground; logs go to stdout as JSON lines. -n names the operator's own namespace (its Lease, webhook certificate, default namespace of LAS and SGX plugin pods; default SCONE_OPERATOR_NAMESPACE, then the context's).",
  ],
  subCommands: { install, uninstall, history },
  run: lazyRun(() => import("../run/operator.ts")),
});
