// `scone operator install`: maps the flags to the install flow (src/flows/install) and prints its steps.
// Exit codes: 0 = nothing differs (or everything was applied), 3 = report mode found differences, 1 = error.

import { isData, renderData } from "../output.ts";
import { CliError, EXIT_USAGE, type SconeContext } from "../spec.ts";

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

export async function run(ctx: SconeContext): Promise<void> {
  const [{ installOptionsFromFlags, InstallOptionError }, { runInstall }, report, { KubeClient }] = await Promise.all([
    import("../../flows/install/options.ts"),
    import("../../flows/install/execute.ts"),
    import("../../flows/install/report.ts"),
    import("../../kube/client.ts"),
  ]);
  const a = ctx.args;
  let options: ReturnType<typeof installOptionsFromFlags>;
  try {
    options = installOptionsFromFlags(a);
  } catch (e) {
    if (e instanceof InstallOptionError) throw new CliError(e.message, EXIT_USAGE);
    throw e;
  }
  const data = isData(a.output) ? a.output : undefined;
  const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
  const client = await KubeClient.load({ kubeconfig: str(a.kubeconfig), context: str(a.context) });

  const outcome = await runInstall(client, options, {
    progress: {
      step: (step, done) => {
        if (data) return;
        for (const line of report.stepLines(step, { done, verbose: options.verbose, colour }))
          process.stdout.write(`${line}\n`);
      },
      pullCheck: (check) => {
        if (!data) process.stdout.write(`${report.pullCheckLine(check)}\n`);
      },
      warn: (message) => process.stderr.write(`warning: ${message}\n`),
      waiting: (what) => {
        if (!data) process.stderr.write(`waiting for ${what} (up to ${options.timeoutSeconds}s)\n`);
      },
    },
  });

  if (data) process.stdout.write(renderData(data, report.outcomeJson(outcome)));
  else process.stdout.write(`${report.summaryLine(outcome)}\n`);
  if (outcome.mode === "report" && outcome.differs) {
    throw new CliError(
      "the cluster differs from the desired state (exit code 3); run again with --reconcile to fix it",
      report.EXIT_DIFFERS,
    );
  }
}
