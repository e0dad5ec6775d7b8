// The container images a SCONE version uses, for `scone images` (mirroring into an air-gapped registry).
import { DEFAULT_IMAGE_REPO } from "../resources/defaults.ts";
import { DEFAULT_SCONE_SERVICE_VERSION } from "../version.ts";
import { OPERATOR_IMAGE_NAME } from "./options.ts";

export interface ImageEntry {
  /** What runs it, e.g. "operator", "cas". */
  readonly component: string;
  /** Full reference: registry/prefix+name:version. */
  readonly image: string;
}

/** Image names (without prefix) by component, in the order they are installed (SCONE-INTERFACE §1, §10). */
export const SCONE_IMAGE_NAMES: readonly { component: string; name: string }[] = [
  { component: "operator", name: OPERATOR_IMAGE_NAME },
  { component: "sgx-plugin", name: "sgx-plugin" },
  { component: "las", name: "las" },
  { component: "cas", name: "cas" },
  { component: "backup-controller", name: "backup-controller" },
  { component: "cas-safety-service", name: "cas-safety-service" },
  { component: "cas-recovery", name: "cas-recovery" },
  { component: "sconecli", name: "sconecli" },
];

export function listImages(
  version: string = DEFAULT_SCONE_SERVICE_VERSION,
  registry: string = DEFAULT_IMAGE_REPO,
  prefix = "",
): ImageEntry[] {
  const repo = registry.replace(/\/+$/, "");
  return SCONE_IMAGE_NAMES.map(({ component, name }) => ({ component, image: `${repo}/${prefix}${name}:${version}` }));
}
