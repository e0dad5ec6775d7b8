// `scone cas evict NAME -n NS [--node N] [--timeout D]`: flags → the node-move flow (src/flows/evict).
import { parseDuration } from "../globals.ts";
import { isData, renderData } from "../output.ts";
import { CliError, type SconeContext } from "../spec.ts";

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

export async function run(ctx: SconeContext): Promise<void> {
  const a = ctx.args;
  const [{ KubeClient }, { runEvict }, { printingProgress }, { stepLine }] = await Promise.all([
    import("../../kube/client.ts"),
    import("../../flows/evict/flow.ts"),
    import("../../flows/status/progress.ts"),
    import("./cas-provision.ts"),
  ]);
  const name = str(a.name) ?? "cas";
  const namespace = str(a.namespace) ?? "default";
  const timeout = str(a.timeout);
  const kube = await KubeClient.load({ kubeconfig: str(a.kubeconfig), context: str(a.context) });
  const data = isData(a.output) ? a.output : undefined;
  const outcome = await runEvict(
    kube,
    {
      name,
      namespace,
      ...(str(a.node) ? { node: str(a.node) } : {}),
      ...(timeout ? { timeoutMs: parseDuration(timeout) } : {}),
    },
    printingProgress(stepLine, (line) => process.stderr.write(`${line}\n`)),
  );
  if (data) process.stdout.write(renderData(data, outcome));
  if (!outcome.ok) throw new CliError(outcome.error ?? "the move failed");
  if (!data) process.stdout.write(`CAS ${namespace}/${name} moved from ${outcome.from} to ${outcome.to}\n`);
}
