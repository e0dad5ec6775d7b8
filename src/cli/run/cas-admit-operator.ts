// `scone cas admit-operator NAME -n NS [--target DIR] [--session S] [--scone-cli PATH]`: the CAS owner admits the
// operator's own SCONE CLI identity through a session (src/operator/policies/admit.ts), reaching CAS the way the
// operator does (the sconecli pod of the CAS, or a local CLI with --scone-cli).
import { homedir } from "node:os";
import { join } from "node:path";
import { openKube, textFlag } from "../flags.ts";
import { isData, renderData } from "../output.ts";
import type { SconeContext } from "../spec.ts";

export async function run(ctx: SconeContext): Promise<void> {
  const a = ctx.args;
  const [{ admitOperator }, { cliCasDriverSource }] = await Promise.all([
    import("../../operator/policies/admit.ts"),
    import("./cas-driver.ts"),
  ]);
  const name = textFlag(a.name) ?? "cas";
  const namespace = textFlag(a.namespace) ?? "default";
  // Upstream's owner layout: <target>/identity/config.json (SCONE-INTERFACE §10.3), default ~/.cas.
  const ownerConfigPath = join(textFlag(a.target) ?? join(homedir(), ".cas"), "identity", "config.json");
  const kube = await openKube(a);
  const source = await cliCasDriverSource(a, kube);
  const session = textFlag(a.session);
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
