// `scone api`: maps flags to runApi's options; the server itself lives in src/api.
import { cliNodeSelector } from "../../cas/driver/node-selector.ts";
import { API_PLAIN_PORT, API_TLS_PORT } from "../commands/api.ts";
import { textFlag } from "../flags.ts";
import { TRACKING_ISSUE } from "../issues.ts";
import { NotImplementedError, type SconeContext } from "../spec.ts";
import { repeatedFlag } from "./api-flags.ts";
import { isModuleMissing } from "./optional-module.ts";

export async function run(ctx: SconeContext): Promise<void> {
  let runApi: typeof import("../../api/run.ts").runApi;
  try {
    ({ runApi } = await import("../../api/run.ts"));
  } catch (error) {
    if (isModuleMissing(error, "api/run.ts")) throw new NotImplementedError(TRACKING_ISSUE.api);
    throw error;
  }
  const a = ctx.args;
  const tlsCert = textFlag(a["tls-cert"]);
  const tlsKey = textFlag(a["tls-key"]);
  const port = textFlag(a.port);
  await runApi({
    port: port ? Number(port) : tlsCert ? API_TLS_PORT : API_PLAIN_PORT,
    host: textFlag(a.host) ?? "127.0.0.1",
    stateDir: textFlag(a["state-dir"]),
    tlsCert,
    tlsKey,
    logLevel: textFlag(a["log-level"]),
    kubeconfig: textFlag(a.kubeconfig),
    context: textFlag(a.context),
    tlsClientCa: textFlag(a["tls-client-ca"]),
    bootstrapTokenFile: textFlag(a["bootstrap-token-file"]),
    kubeAuth: a["kube-auth"] === true,
    namespace: textFlag(a.namespace),
    backupRoot: textFlag(a["backup-root"]),
    s3Allow: repeatedFlag(ctx.rawArgs, "s3-allow"),
    insecure: a.insecure === true,
    sconeCli: textFlag(a["scone-cli"]),
    cliNodeSelector: cliNodeSelector(textFlag(a["cli-node-selector"])),
  });
}
