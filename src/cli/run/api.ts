// `scone api`: maps flags to runApi's options; the server itself lives in src/api.
import { cliNodeSelector } from "../../cas/driver/node-selector.ts";
import { API_PLAIN_PORT, API_TLS_PORT } from "../commands/api.ts";
import { TRACKING_ISSUE } from "../issues.ts";
import { NotImplementedError, type SconeContext } from "../spec.ts";
import { repeatedFlag } from "./api-flags.ts";
import { isModuleMissing } from "./optional-module.ts";

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

export async function run(ctx: SconeContext): Promise<void> {
  let runApi: typeof import("../../api/run.ts").runApi;
  try {
    ({ runApi } = await import("../../api/run.ts"));
  } catch (error) {
    if (isModuleMissing(error, "api/run.ts")) throw new NotImplementedError(TRACKING_ISSUE.api);
    throw error;
  }
  const a = ctx.args;
  const tlsCert = str(a["tls-cert"]);
  const tlsKey = str(a["tls-key"]);
  const port = str(a.port);
  await runApi({
    port: port ? Number(port) : tlsCert ? API_TLS_PORT : API_PLAIN_PORT,
    host: str(a.host) ?? "127.0.0.1",
    stateDir: str(a["state-dir"]),
    tlsCert,
    tlsKey,
    logLevel: str(a["log-level"]),
    kubeconfig: str(a.kubeconfig),
    context: str(a.context),
    tlsClientCa: str(a["tls-client-ca"]),
    bootstrapTokenFile: str(a["bootstrap-token-file"]),
    kubeAuth: a["kube-auth"] === true,
    namespace: str(a.namespace),
    backupRoot: str(a["backup-root"]),
    s3Allow: repeatedFlag(ctx.rawArgs, "s3-allow"),
    insecure: a.insecure === true,
    sconeCli: str(a["scone-cli"]),
    cliNodeSelector: cliNodeSelector(str(a["cli-node-selector"])),
  });
}
