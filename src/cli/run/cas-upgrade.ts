// `scone cas upgrade NAME -n NS --to-version VERSION [--force] [--timeout D]`: flags → the upgrade flow (src/flows/upgrade).

import { openKube, textFlag } from "../flags.ts";
import { parseDuration } from "../globals.ts";
import { isData, renderData } from "../output.ts";
import { CliError, EXIT_USAGE, type SconeContext } from "../spec.ts";

export async function run(ctx: SconeContext): Promise<void> {
  const a = ctx.args;
  const [{ runUpgrade }, { printingProgress }, { stepLine }] = await Promise.all([
    import("../../flows/upgrade/flow.ts"),
    import("../../flows/status/progress.ts"),
    import("./cas-provision.ts"),
  ]);
  const name = textFlag(a.name) ?? "cas";
  const namespace = textFlag(a.namespace) ?? "default";
  const to = textFlag(a["to-version"]);
  if (!to)
    throw new CliError("missing --to-version VERSION", EXIT_USAGE, "scone cas upgrade NAME -n NS --to-version 6.0.7");
  const timeout = textFlag(a.timeout);
  const kube = await openKube(a);
  const data = isData(a.output) ? a.output : undefined;
  const backupMrenclave = textFlag(a["backup-mrenclave"]);
  const outcome = await runUpgrade(
    kube,
    {
      name,
      namespace,
      to,
      force: a.force === true,
      ...(backupMrenclave ? { backupMrenclave } : {}),
      ...(timeout ? { timeoutMs: parseDuration(timeout) } : {}),
    },
    printingProgress(stepLine, (line) => process.stderr.write(`${line}\n`)),
    {
      // The owner's identity and a port-forward to the CAS, as `scone cas provision --postprovision-only` uses them.
      async openOwnerSessions() {
        const [{ openOwnerClient }, { cliCasDriverSource }] = await Promise.all([
          import("../../flows/provision/flow.ts"),
          import("./cas-driver.ts"),
        ]);
        const env = process.env.TARGET_MOUNT_DIR ? { TARGET_MOUNT_DIR: process.env.TARGET_MOUNT_DIR } : {};
        const casSource = await cliCasDriverSource(a, kube);
        return openOwnerClient(kube, { name, namespace, target: textFlag(a.target) }, { env, casSource });
      },
    },
  );
  if (data) process.stdout.write(renderData(data, outcome));
  if (!outcome.ok) throw new CliError(outcome.error ?? "the upgrade failed");
  if (!data) process.stdout.write(`CAS ${namespace}/${name} upgraded from ${outcome.from} to ${to}\n`);
}
