// `scone operator`: maps flags to runOperator's options; the operator itself lives in src/operator.
import { cliNodeSelector } from "../../cas/driver/node-selector.ts";
import { textFlag } from "../flags.ts";
import { TRACKING_ISSUE } from "../issues.ts";
import { NotImplementedError, type SconeContext } from "../spec.ts";
import { isModuleMissing } from "./optional-module.ts";

export async function run(ctx: SconeContext): Promise<void> {
  let runOperator: typeof import("../../operator/run.ts").runOperator;
  try {
    ({ runOperator } = await import("../../operator/run.ts"));
  } catch (error) {
    if (isModuleMissing(error, "operator/run.ts")) throw new NotImplementedError(TRACKING_ISSUE.operator);
    throw error;
  }
  const a = ctx.args;
  await runOperator({
    kubeconfig: textFlag(a.kubeconfig),
    context: textFlag(a.context),
    stateDir: textFlag(a["state-dir"]),
    namespace: textFlag(a.namespace),
    logLevel: textFlag(a["log-level"]),
    metricsPort: Number(a["metrics-port"] ?? 8080),
    metricsSecure: a["metrics-secure"] === true,
    metricsCertDir: textFlag(a["metrics-cert-dir"]),
    probePort: Number(a["probe-port"] ?? 8081),
    leaderElect: a["leader-elect"] === true,
    webhookPort: Number(a["webhook-port"] ?? 9443),
    webhookMode:
      a["webhook-mode"] === "service" || a["webhook-mode"] === "url" || a["webhook-mode"] === "off"
        ? a["webhook-mode"]
        : undefined,
    webhookHost: textFlag(a["webhook-host"]),
    allowedRegistries: textFlag(a["allowed-registries"]),
    sconeCli: textFlag(a["scone-cli"]),
    cliNodeSelector: cliNodeSelector(textFlag(a["cli-node-selector"])),
  });
}
