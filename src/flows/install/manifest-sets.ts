// The sets `scone manifests` prints. Its own module: the CLI's command tree names them without loading the install
// flow (src/flows/install/manifests.ts renders them).
export const MANIFEST_SETS = ["crds", "operator", "sgxplugin", "las", "all"] as const;
export type ManifestSet = (typeof MANIFEST_SETS)[number];
