// `scone cas evict NAME -n NS [--node N] [--timeout D]`: flags → the node-move flow (src/flows/evict).

import { openKube, textFlag } from "../flags.ts";
import { parseDuration } from "../globals.ts";
import { isData, renderData } from "../output.ts";
import { CliError, type SconeContext } from "../spec.ts";

export async function run(ctx: SconeContext): Promise<void> {
  const a = ctx.args;
  const [{ runEvict }, { printingProgress }, { stepLine }] = await Promise.all([
    import("../../flows/evict/flow.ts"),
    import("../../flows/status/progress.ts"),
    import("./cas-provision.ts"),
  ]);
  const name = textFlag(a.name) ?? "cas";
  const namespace = textFlag(a.namespace) ?? "default";
  const timeout = textFlag(a.timeout);
  const kube = await openKube(a);
  const data = isData(a.output) ? a.output : undefined;
  const outcome = await runEvict(
    kube,
    {
      name,
      namespace,
      ...(textFlag(a.node) ? { node: textFlag(a.node) } : {}),
      ...(timeout ? { timeoutMs: parseDuration(timeout) } : {}),
    },
    printingProgress(stepLine, (line) => process.stderr.write(`${line}\n`)),
  );
  if (data) process.stdout.write(renderData(data, outcome));
  if (!outcome.ok) throw new CliError(outcome.error ?? "the move failed");
  if (!data) process.stdout.write(`CAS ${namespace}/${name} moved from ${outcome.from} to ${outcome.to}\n`);
}
