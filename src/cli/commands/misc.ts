// Local commands that need no cluster: version, manifests, completion, images.
import { command, lazyRun } from "../define.ts";
import { LOCAL_GLOBALS } from "../globals.ts";
import { TRACKING_ISSUE } from "../issues.ts";
import { notImplemented } from "../spec.ts";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export const MANIFEST_SETS = ["crds", "operator", "all"] as const;

export const versionCommand = command({
  meta: { name: "version", description: "Print the version of scone" },
  globals: ["output"],
  run: lazyRun(() => import("../run/version.ts")),
});

export const manifestsCommand = command({
  meta: { name: "manifests", description: "Print Kubernetes manifests as YAML (crds, operator or all)" },
  args: {
    set: {
      type: "positional",
      required: false,
      default: "all",
      valueHint: "crds|operator|all",
      choices: MANIFEST_SETS,
      description: "Which manifests",
      check: (v) =>
        (MANIFEST_SETS as readonly string[]).includes(v)
          ? undefined
          : `unknown manifest set '${v}': expected crds, operator or all`,
    },
  },
  globals: [],
  notes: ["Example: scone manifests crds | kubectl apply --server-side -f -"],
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
  notes: [
    "bash: source <(scone completion bash)",
    "zsh:  scone completion zsh > ~/.zfunc/_scone   (with ~/.zfunc in fpath; or: source <(scone completion zsh))",
    "fish: scone completion fish > ~/.config/fish/completions/scone.fish",
  ],
  run: lazyRun(() => import("../run/completion.ts")),
});

export const imagesCommand = command({
  meta: { name: "images", description: "List the container images a SCONE version uses (for air-gapped mirrors)" },
  args: {
    "set-version": { type: "string", valueHint: "VERSION", description: "SCONE version (default: the bundled one)" },
    "image-registry": { type: "string", valueHint: "URL", description: "Image repository" },
    "image-prefix": { type: "string", valueHint: "PREFIX", description: "Prefix of the image names" },
  },
  globals: LOCAL_GLOBALS,
  run: notImplemented(TRACKING_ISSUE.images),
});
