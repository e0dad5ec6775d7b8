// `scone manifests [crds|operator|all]`: YAML on stdout, ready for `kubectl apply --server-side -f -`.
import { TRACKING_ISSUE } from "../issues.ts";
import { NotImplementedError, type SconeContext } from "../spec.ts";
import { isModuleMissing } from "./optional-module.ts";

/** The CRDs as YAML, or "" while src/resources/crds.ts is not part of the build. */
export async function crdManifests(): Promise<string> {
  try {
    const { renderCrdManifests } = await import("../../resources/crds.ts");
    return renderCrdManifests();
  } catch (error) {
    if (isModuleMissing(error, "resources/crds.ts")) return "";
    throw error;
  }
}

export async function run(ctx: SconeContext): Promise<void> {
  const given: unknown = ctx.args.set;
  const set = typeof given === "string" ? given : "all";
  if (set !== "crds") throw new NotImplementedError(TRACKING_ISSUE.operatorInstall);
  process.stdout.write(await crdManifests());
}
