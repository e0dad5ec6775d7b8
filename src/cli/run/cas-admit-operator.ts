// `scone cas admit-operator NAME -n NS [--target DIR] [--session S] [--scone-cli PATH]`: the CAS owner admits the
// operator's own SCONE CLI identity through a session (src/operator/policies/admit.ts), reaching CAS the way the
// operator does (the sconecli pod of the CAS, or a local CLI with --scone-cli).
import { homedir } from "node:os";
import { join } from "node:path";
import { isData, renderData } from "../output.ts";
import type { SconeContext } from "../spec.ts";

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

export async function run(ctx: SconeContext): Promise<void> {
  const a = ctx.args;
  const [{ KubeClient }, { admitOperator }, { cliCasDriverSource }] = await Promise.all([
    import("../../kube/client.ts"),
    import("../../operator/policies/admit.ts"),
    import("./cas-driver.ts"),
  ]);
  const name = str(a.name) ?? "cas";
  const namespace = str(a.namespace) ?? "default";
  // Upstream's owner layout: <target>/identity/config.json (SCONE-INTERFACE §10.3), default ~/.cas.
  const ownerConfigPath = join(str(a.target) ?? join(homedir(), ".cas"), "identity", "config.json");
  const kube = await KubeClient.load({ kubeconfig: str(a.kubeconfig), context: str(a.context) });
  const source = await cliCasDriverSource(a, kube);
  const session = str(a.session);
  const outcome = await admitOperator(source, {
    cas: { name, namespace },
    ownerConfigPath,
    ...(session ? { session } : {}),
  });
  if (isData(a.output)) {
    process.stdout.write(renderData(a.output, outcome));
    return;
  }
  process.stdout.write(
    `${outcome.action === "Created" ? "created" : "updated"} session ${outcome.session} (${outcome.hash}) at CAS ${namespace}/${name}: ` +
      `it admits operator key hash ${outcome.operatorKeyHash} (read, create_sessions); the operator's CLI attested CAS key ${outcome.casKey}\n`,
  );
}
