// Local commands that need no cluster: version, manifests, completion, images.
import { MANIFEST_SETS } from "../../flows/install/manifest-sets.ts";
import { command, lazyRun } from "../define.ts";
import { checkVersion, INSTALL_PLACEMENT_ARGS } from "../globals.ts";
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
    ...INSTALL_PLACEMENT_ARGS,
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

/** Registry access for the image transfers: credentials and a private CA. */
const registryArgs: SconeArgsDef = {
  "registry-auth": {
    type: "string",
    valueHint: "FILE",
    description: "Registry credentials as a docker config.json ('auths'); default: $DOCKER_CONFIG/config.json",
  },
  "registry-ca": {
    type: "string",
    valueHint: "FILE",
    description: "PEM CA bundle the registries' certificates chain to",
  },
};

const targetArgs: SconeArgsDef = {
  to: {
    type: "string",
    required: true,
    valueHint: "REGISTRY[/PATH]",
    description: "Target registry and path, as 'scone operator install --image-registry' will name it",
  },
  "target-prefix": {
    type: "string",
    valueHint: "PREFIX",
    description: "Prefix of every image name in the target, as 'scone operator install --image-prefix'",
  },
};

const platformArg: SconeArgsDef = {
  platform: {
    type: "string",
    valueHint: "OS/ARCH,…",
    description: "Platforms to carry of multi-platform images, e.g. linux/amd64,linux/arm64 (default: all)",
  },
};

const imagesSave = command({
  meta: { name: "save", description: "Save every image of a SCONE version and its signatures into one OCI archive" },
  args: {
    to: { type: "string", required: true, valueHint: "FILE", description: "The archive to write (an OCI layout tar)" },
    ...imageArgs,
    ...platformArg,
    ...registryArgs,
  },
  globals: ["output"],
  notes: [
    "The images of 'scone images' (scone's operator image included) with their cosign signature manifests " +
      "(sha256-<hex>.sig), as one OCI image layout tar; index.json names each image, its digest and signature.",
    "Resumable: blobs go to FILE.partial/ as they arrive (each checked against its digest); run the same command " +
      "again after an interruption and only the missing blobs are fetched.",
  ],
  run: lazyRun(async () => ({ run: (await import("../run/images-transfer.ts")).runSave })),
});

const imagesVerify = command({
  meta: { name: "verify", description: "Check every blob of an image archive against its digest and size" },
  args: { file: { type: "positional", valueHint: "FILE", description: "The archive 'scone images save' wrote" } },
  globals: ["output"],
  notes: ["Exit 1 when a blob is missing, corrupt or of the wrong size; each problem names the image(s) it breaks."],
  run: lazyRun(async () => ({ run: (await import("../run/images-transfer.ts")).runVerify })),
});

const imagesPush = command({
  meta: { name: "push", description: "Push an image archive into a registry (inside the air gap)" },
  args: {
    from: { type: "string", required: true, valueHint: "FILE", description: "The archive 'scone images save' wrote" },
    ...targetArgs,
    ...registryArgs,
  },
  globals: ["output"],
  notes: [
    "The archive is verified before anything is sent. Blobs the target has are skipped; manifests keep their " +
      "digests, so the signatures pushed next to them still verify. Tags are set last and only when every image " +
      "was pushed: a failed push leaves nothing tagged. Exit 1 on any failure.",
    "Then: scone operator install --image-registry REGISTRY[/PATH] --image-prefix PREFIX --pin-digests",
  ],
  run: lazyRun(async () => ({ run: (await import("../run/images-transfer.ts")).runPush })),
});

const imagesMirror = command({
  meta: { name: "mirror", description: "Copy every image of a SCONE version and its signatures registry to registry" },
  args: { ...imageArgs, ...platformArg, ...targetArgs, ...registryArgs },
  globals: ["output"],
  notes: [
    "'save' into a temporary archive and 'push' from it, for a machine that reaches both registries; " +
      "--image-registry/--image-prefix name the source, --to/--target-prefix the target.",
  ],
  run: lazyRun(async () => ({ run: (await import("../run/images-transfer.ts")).runMirror })),
});

export const imagesCommand = command({
  meta: { name: "images", description: "List the container images a SCONE version uses (for air-gapped mirrors)" },
  args: imageArgs,
  globals: ["output"],
  notes: [
    "First scone's own operator image (tagged with scone's version; `make image` builds it), then, after a blank " +
      "line, the SCONE service images it deploys (tagged with --set-version). JSON: {operator, services}.",
    "Text output is one image per line, e.g. for: scone images | xargs -n1 docker pull",
    "Across an air gap: scone images save --to FILE; scone images verify FILE; scone images push --from FILE " +
      "--to REGISTRY (or scone images mirror --to REGISTRY when both registries are reachable). docs/airgap.md",
  ],
  subCommands: { save: imagesSave, verify: imagesVerify, push: imagesPush, mirror: imagesMirror },
  run: lazyRun(() => import("../run/images.ts")),
});
