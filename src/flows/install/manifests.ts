// `scone manifests`: exactly what `scone operator install` would apply, as YAML for GitOps, taken from the same
// desired state (desired.ts) with the same flags. Pull secrets are never rendered (they hold a registry token):
// they are listed as objects the cluster must already have.
import type { ObjectRef } from "../../kube/types.ts";
import { SCONE_VERSION } from "../../version.ts";
import { type DesiredInstall, desiredInstall, type InstallPhase } from "./desired.ts";
import type { ManifestSet } from "./manifest-sets.ts";
import type { InstallFlowOptions } from "./options.ts";

const PHASES_OF: Record<ManifestSet, readonly InstallPhase[]> = {
  crds: ["crds"],
  operator: ["namespaces", "operator"],
  sgxplugin: ["sgxplugin"],
  las: ["las"],
  all: ["namespaces", "crds", "operator", "sgxplugin", "las"],
};

export interface RenderedManifests {
  /** The objects of the set, in install order. */
  readonly objects: DesiredInstall["items"][number]["object"][];
  /** Objects install needs that are not rendered: the pull secrets of the namespaces in the set. */
  readonly notRendered: readonly ObjectRef[];
  readonly warnings: readonly string[];
}

export function manifestSet(set: ManifestSet, options: InstallFlowOptions): RenderedManifests {
  // Without credentials the desired state lists the pull secrets as required instead of rendering them.
  const desired = desiredInstall({ ...options, credentials: undefined });
  const phases = PHASES_OF[set];
  const objects = desired.items.filter((i) => phases.includes(i.phase)).map((i) => i.object);
  const withNamespaces = phases.includes("namespaces");
  return {
    objects,
    notRendered: withNamespaces ? desired.required.map((r) => r.ref) : [],
    warnings: phases.includes("las") ? desired.warnings : [],
  };
}

export function manifestHeader(set: ManifestSet, options: InstallFlowOptions): string {
  return `# scone ${SCONE_VERSION}: ${set} manifests for SCONE ${options.version} (namespace ${options.namespace})\n`;
}
