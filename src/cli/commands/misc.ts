// Local commands that need no cluster: version, manifests, completion, images.
import { MANIFEST_SETS } from "../../flows/install/manifest-sets.ts";
import { command, lazyRun } from "../define.ts";
import { checkVersion, INSTALL_CLI_NODE_SELECTOR } from "../globals.ts";
import { run as runVersion } from "../run/version.ts";
import type { SconeArgsDef } from "../spec.ts";
import { BACKUP_CLAIM_ARGS, WITH_API_ARG } from "./backup-claim-args.ts";
import { MONITORING_ARG } from "./monitoring-args.ts";

export const SHELLS = ["bash", "zsh", "fish"] as const;

/** Where the images come from; shared by `images` and `manifests` so a mirror is named the same way. */
const imageArgs: SconeArgsDef = {
  "set-version": {
    type: "string",
    valueHint: "VERSION",
    description: "SCONE version of the images (default: the bundled one)",
    check: checkVersion("set-version"),
  },
  "image-registry": {
    type: "string",
    valueHint: "URL",
    description: "Registry and path of the images, e.g. a mirror (default: registry.scontain.com/scone.cloud)",
  },
  "image-prefix": { type: "string", valueHint: "PREFIX", description: "Prefix of every image name in the registry" },
};

export const versionCommand = command({
  meta: {
    name: "version",
    description: "Print the version of scone and, when a cluster answers, of its operator and CRDs (warns on skew)",
  },
  args: {
    client: { type: "boolean", description: "Only this client's version: do not ask the cluster" },
  },
  globals: ["kubeconfig", "context", "namespace", "output"],
  notes: [
    "With a kubeconfig (--kubeconfig, KUBECONFIG, ~/.kube/config or in-cluster) it asks the cluster, for at most 5s, " +
      "for the Kubernetes version, the scone operator Deployments (image tag = scone version) and scone's CRDs, and " +
      "warns when an operator's minor version differs from this client's or CRDs are missing or older. No cluster " +
      "or no answer: the client's version only, saying why, exit 0. -n: where to look for the operator when this " +
      "user may not list Deployments cluster-wide (default scone-system).",
  ],
  // Not lazy: the module is a few lines, and loading it with the tree keeps `scone version` at its floor.
  run: runVersion,
});

export const manifestsCommand = command({
  meta: {
    name: "manifests",
    description: "Print what 'scone operator install' applies, as YAML (crds, operator, sgxplugin, las or all)",
  },
  args: {
    set: {
      type: "positional",
      required: false,
      default: "all",
      valueHint: "crds|operator|sgxplugin|las|all",
      choices: MANIFEST_SETS,
      description: "Which manifests",
      check: (v) =>
        (MANIFEST_SETS as readonly string[]).includes(v)
          ? undefined
          : `unknown manifest set '${v}': expected ${MANIFEST_SETS.join(", ")}`,
    },
    ...imageArgs,
    "operator-image": {
      type: "string",
      valueHint: "IMAGE",
      description: "Full operator image reference (overrides registry, prefix and version for the operator)",
    },
    sgxplugin: {
      type: "boolean",
      default: true,
      description: "Include the SGX device plugin in 'all'",
      negativeDescription: "Leave the SGX device plugin out of 'all'",
    },
    "node-selector": {
      type: "string",
      valueHint: "'KEY: \"VALUE\"'",
      description: "Node selector of the SGX plugin (as upstream; also KEY=VALUE,KEY2=VALUE2)",
    },
    "operator-node-selector": {
      type: "string",
      valueHint: "'KEY: \"VALUE\"'",
      description: "Node selector of the operator pods (upstream chart value nodeSelector; also KEY=VALUE,KEY2=VALUE2)",
    },
    "cli-node-selector": INSTALL_CLI_NODE_SELECTOR,
    "dcap-api": { type: "string", alias: "d", valueHint: "KEY", description: "Intel DCAP/PCS API key for LAS" },
    "local-operator": {
      type: "string",
      valueHint: "HOST:PORT",
      description: "As for 'scone operator install': no operator Deployment; the webhooks call https://HOST:PORT",
    },
    ...BACKUP_CLAIM_ARGS,
    ...WITH_API_ARG,
    ...MONITORING_ARG,
  },
  globals: ["namespace", "output"],
  notes: [
    "The same objects 'scone operator install' applies with the same flags, in the order it applies them.",
    "crds: the CustomResourceDefinitions; operator: namespace, RBAC, Deployment, Services and webhook configurations " +
      "of the operator (-n: its namespace, default scone-system); sgxplugin, las: the SGXPlugin and LAS resources; " +
      "all: everything, CRDs first. Pull secrets are not rendered (they hold a token): a note on stderr names them.",
    "Example: scone manifests all --image-registry mirror.example.com/scone | kubectl apply --server-side -f -",
  ],
  run: lazyRun(() => import("../run/manifests.ts")),
});

export const completionCommand = command({
  meta: { name: "completion", description: "Print a shell completion script (bash, zsh or fish)" },
  args: {
    shell: {
      type: "positional",
      valueHint: "bash|zsh|fish",
      choices: SHELLS,
      description: "Shell",
      check: (v) =>
        (SHELLS as readonly string[]).includes(v) ? undefined : `unknown shell '${v}': expected bash, zsh or fish`,
    },
  },
  globals: [],
  printsNoData: "it prints a shell script, not data",
  notes: [
    "bash: source <(scone completion bash)",
    "zsh:  scone completion zsh > ~/.zfunc/_scone   (with ~/.zfunc in fpath; or: source <(scone completion zsh))",
    "fish: scone completion fish > ~/.config/fish/completions/scone.fish",
  ],
  run: lazyRun(() => import("../run/completion.ts")),
});

export const imagesCommand = command({
  meta: { name: "images", description: "List the container images a SCONE version uses (for air-gapped mirrors)" },
  args: imageArgs,
  globals: ["output"],
  notes: [
    "First scone's own operator image (tagged with scone's version; `make image` builds it), then, after a blank " +
      "line, the SCONE service images it deploys (tagged with --set-version). JSON: {operator, services}.",
    "Text output is one image per line, e.g. for: scone images | xargs -n1 docker pull",
  ],
  run: lazyRun(() => import("../run/images.ts")),
});
