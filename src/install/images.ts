// The container images: scone's own operator image (built by `make image`, hack/image) and the SCONE service
// images the operator deploys, for the installer and `scone images` (mirroring into an air-gapped registry).
import pkg from "../../package.json" with { type: "json" };
import { DEFAULT_IMAGE_REPO } from "../resources/defaults.ts";
import { DEFAULT_SCONE_SERVICE_VERSION } from "../version.ts";

export interface ImageEntry {
  /** What runs it, e.g. "operator", "cas". */
  readonly component: string;
  /** Full reference: registry/prefix+name:version. */
  readonly image: string;
}

/** Name of scone's own image in the registry (the operator runs from it). */
export const OPERATOR_IMAGE_NAME = "scone";
/**
 * Its tag: scone's version from package.json, which `make image` tags the image with and build.ts compiles in.
 * Not SCONE_VERSION: a run from source says "-dev" but must name the same image as the compiled binary.
 */
export const OPERATOR_IMAGE_TAG: string = pkg.version;

/** The SCONE service images by component, in the order they are installed (SCONE-INTERFACE §1, §10). */
export const SCONE_IMAGE_NAMES: readonly { component: string; name: string }[] = [
  { component: "sgx-plugin", name: "sgx-plugin" },
  { component: "las", name: "las" },
  { component: "cas", name: "cas" },
  { component: "backup-controller", name: "backup-controller" },
  { component: "cas-safety-service", name: "cas-safety-service" },
  { component: "cas-recovery", name: "cas-recovery" },
  { component: "sconecli", name: "sconecli" },
  // The Vault server a `scone vault` install deploys (src/cli/run/vault.ts → Vault CR → src/operator/vault/render.ts).
  { component: "vault", name: "vault" },
];

const repoOf = (registry: string) => registry.replace(/\/+$/, "");

/** scone's operator image under the same registry and prefix as every other image. */
export function operatorImage(registry: string = DEFAULT_IMAGE_REPO, prefix = ""): string {
  return `${repoOf(registry)}/${prefix}${OPERATOR_IMAGE_NAME}:${OPERATOR_IMAGE_TAG}`;
}

export interface ImageList {
  /** This project's image, tagged with scone's version. */
  readonly operator: ImageEntry;
  /** The SCONE images it deploys, tagged with the SCONE version. */
  readonly services: readonly ImageEntry[];
}

export function listImages(
  version: string = DEFAULT_SCONE_SERVICE_VERSION,
  registry: string = DEFAULT_IMAGE_REPO,
  prefix = "",
): ImageList {
  const repo = repoOf(registry);
  return {
    operator: { component: "operator", image: operatorImage(registry, prefix) },
    services: SCONE_IMAGE_NAMES.map(({ component, name }) => ({
      component,
      image: `${repo}/${prefix}${name}:${version}`,
    })),
  };
}
