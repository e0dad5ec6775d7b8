// `scone doctor [-n NS] [--pull-image IMAGE] [--no-pull-check] [--pull-check-node NODE] [--timeout D]`: runs the
// checks of src/flows/doctor and prints the findings; exit 1 when one failed.

import { PULL_SECRET_NAMES } from "../../flows/install/pull-secrets.ts";
import { listImages } from "../../install/images.ts";
import { DEFAULT_NAMESPACE } from "../../install/names.ts";
import { SCONE_VERSION } from "../../version.ts";
import { durationSeconds } from "../duration.ts";
import { openKube, textFlag } from "../flags.ts";
import { isData, renderData } from "../output.ts";
import { CliError, EXIT_FAILURE, type SconeContext } from "../spec.ts";

const DEFAULT_TIMEOUT_S = 120;

export async function run(ctx: SconeContext): Promise<void> {
  const a = ctx.args;
  const [{ runDoctor }, { doctorExitCode, summary }, { renderDoctorText }] = await Promise.all([
    import("../../flows/doctor/run.ts"),
    import("../../flows/doctor/finding.ts"),
    import("../../flows/doctor/render.ts"),
  ]);
  const kube = await openKube(a);
  const sconecli = listImages().services.find((s) => s.component === "sconecli")?.image ?? "";
  const timeout = textFlag(a.timeout);
  const node = textFlag(a["pull-check-node"]);
  const findings = await runDoctor(kube, {
    namespace: textFlag(a.namespace) ?? DEFAULT_NAMESPACE,
    clientVersion: SCONE_VERSION,
    pullSecrets: PULL_SECRET_NAMES,
    pullImage: textFlag(a["pull-image"]) ?? sconecli,
    pullCheck: a["pull-check"] !== false,
    ...(node ? { pullCheckNode: node } : {}),
    timeoutMs: ((timeout ? durationSeconds(timeout) : undefined) ?? DEFAULT_TIMEOUT_S) * 1000,
  });
  const counts = summary(findings);
  if (isData(a.output)) process.stdout.write(renderData(a.output, { findings, summary: counts }));
  else process.stdout.write(renderDoctorText(findings));
  // Thrown, not process.exitCode: runCli's return value becomes the exit code and would overwrite it.
  if (doctorExitCode(findings) !== 0)
    throw new CliError(`${counts.fail} of ${findings.length} checks failed`, EXIT_FAILURE);
}
