// `scone manifests [crds|operator|all]`: YAML on stdout, ready for `kubectl apply --server-side -f -`.
// CRDs come from src/resources/crds.ts, the operator's objects from src/install/manifests.ts.
import type { SconeContext } from "../spec.ts";

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

export async function crdManifests(): Promise<string> {
  const { renderCrdManifests } = await import("../../resources/crds.ts");
  return renderCrdManifests();
}

export async function operatorManifests(ctx: SconeContext): Promise<string> {
  const { renderInstallYaml } = await import("../../install/manifests.ts");
  const a = ctx.args;
  return renderInstallYaml({
    namespace: str(a.namespace),
    version: str(a["set-version"]),
    imageRegistry: str(a["image-registry"]),
    imagePrefix: str(a["image-prefix"]),
    operatorImage: str(a["operator-image"]),
  });
}

export async function run(ctx: SconeContext): Promise<void> {
  const given: unknown = ctx.args.set;
  const set = typeof given === "string" ? given : "all";
  const parts: string[] = [];
  if (set === "crds" || set === "all") parts.push(await crdManifests());
  if (set === "operator" || set === "all") parts.push(await operatorManifests(ctx));
  process.stdout.write(parts.join(""));
}
