// `scone manifests [crds|operator|sgxplugin|las|all] [-o text|yaml|json]`: YAML (or a JSON List) on stdout, ready for `kubectl apply --server-side -f -`;
// the objects are those `scone operator install` applies with the same flags (src/flows/install/manifests.ts).
import { MANIFEST_SETS } from "../../flows/install/manifest-sets.ts";
import { renderData } from "../output.ts";
import { CliError, EXIT_USAGE, type SconeContext } from "../spec.ts";

export async function run(ctx: SconeContext): Promise<void> {
  const [{ installOptionsFromFlags, InstallOptionError }, { manifestSet, manifestHeader }, { toYamlDocuments }] =
    await Promise.all([
      import("../../flows/install/options.ts"),
      import("../../flows/install/manifests.ts"),
      import("../../install/manifests.ts"),
    ]);
  const given: unknown = ctx.args.set;
  const set = MANIFEST_SETS.find((s) => s === given) ?? "all";
  let options: ReturnType<typeof installOptionsFromFlags>;
  try {
    options = installOptionsFromFlags(ctx.args);
  } catch (e) {
    if (e instanceof InstallOptionError) throw new CliError(e.message, EXIT_USAGE);
    throw e;
  }
  const rendered = manifestSet(set, options);
  // -o json: the same objects as one kubectl-style List (kubectl apply -f accepts it too).
  process.stdout.write(
    ctx.args.output === "json"
      ? renderData("json", { apiVersion: "v1", kind: "List", items: rendered.objects })
      : manifestHeader(set, options) + toYamlDocuments(rendered.objects),
  );
  for (const w of rendered.warnings) process.stderr.write(`warning: ${w}\n`);
  for (const ref of rendered.notRendered)
    process.stderr.write(
      `note: ${ref.kind} ${ref.namespace}/${ref.name} is not rendered (it holds a registry token): create it with ` +
        "'scone operator install --username U --access-token T --email E' or 'kubectl create secret docker-registry'\n",
    );
}
