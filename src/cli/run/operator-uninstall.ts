// `scone operator uninstall`: flags → the uninstall flow (src/flows/uninstall), its steps printed as install's are.
// Exit codes as install's: 0 = nothing to remove (or everything was removed), 3 = report mode found something to
// remove, 1 = refused (SCONE resources exist, no --force) or failed.
import { durationSeconds } from "../duration.ts";
import { openKube, textFlag } from "../flags.ts";
import { isData, renderData } from "../output.ts";
import { CliError, type SconeContext } from "../spec.ts";

export async function run(ctx: SconeContext): Promise<void> {
  const [{ runUninstall, UninstallRefused }, { refusalMessage }, report, { EXIT_DIFFERS }, { DEFAULT_NAMESPACE }] =
    await Promise.all([
      import("../../flows/uninstall/execute.ts"),
      import("../../flows/uninstall/plan.ts"),
      import("../../flows/uninstall/report.ts"),
      import("../../flows/install/report.ts"),
      import("../../install/names.ts"),
    ]);
  const a = ctx.args;
  const data = isData(a.output) ? a.output : undefined;
  const verbose = a.verbose === true;
  const timeout = textFlag(a.timeout);
  const options = {
    namespace: textFlag(a.namespace) ?? DEFAULT_NAMESPACE,
    crds: a.crds === true,
    force: a.force === true,
    mode: a.yes === true ? ("delete" as const) : ("report" as const),
    timeoutSeconds: (timeout === undefined ? undefined : durationSeconds(timeout)) ?? 120,
  };
  const client = await openKube(a);
  const out = (line: string) => {
    if (!data) process.stdout.write(`${line}\n`);
  };
  if (options.crds) process.stderr.write(`warning: ${report.CRD_WARNING}\n`);
  let plan: Awaited<ReturnType<typeof runUninstall>>;
  try {
    plan = await runUninstall(client, options, {
      step: (step, done) => {
        if (step.action !== "absent" || verbose) out(report.uninstallStepLine(step, done));
      },
      waiting: (what) => {
        if (!data) process.stderr.write(`waiting for ${what} to be deleted (up to ${options.timeoutSeconds}s)\n`);
      },
    });
  } catch (e) {
    if (e instanceof UninstallRefused) throw new CliError(e.message);
    throw e;
  }
  const done = options.mode === "delete";
  if (data) {
    process.stdout.write(renderData(data, report.uninstallJson(plan, options.mode)));
  } else {
    for (const line of report.keptLines(plan)) out(line);
    out(report.uninstallSummary(plan, done));
  }
  if (!done && plan.refused)
    process.stderr.write(`warning: --yes would refuse: ${refusalMessage(plan, options.crds)}\n`);
  if (!done && plan.steps.some((s) => s.action === "delete")) {
    throw new CliError("something would be removed (exit code 3); run again with --yes to remove it", EXIT_DIFFERS);
  }
}
