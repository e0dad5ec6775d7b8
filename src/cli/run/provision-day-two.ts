// `scone cas provision NAME --upgrade VER | --local-backup | --cas-database-recovery DIR`: the provisioning flags mapped
// onto `scone cas upgrade` / `scone cas backup` / `scone cas restore` (../provision-day-two.ts), whose runs and flows
// do the work: one upgrade, one backup and one restore in scone, whichever command line the user types.

import { openKube, textFlag } from "../flags.ts";
import { type DayTwoMode, dayTwoPlan, setVersionProblem } from "../provision-day-two.ts";
import { CliError, EXIT_USAGE, type SconeContext } from "../spec.ts";

export async function runDayTwo(ctx: SconeContext, mode: DayTwoMode, rerun: string): Promise<void> {
  const { provisionArgs } = await import("../commands/cas.ts");
  const plan = dayTwoPlan(mode, ctx.args, { cwd: process.cwd(), known: Object.keys(provisionArgs) });
  for (const note of plan.notes) process.stderr.write(`note: ${note}\n`);
  const sub = { ...ctx, args: { ...plan.args, _: [] } } as unknown as SconeContext;
  switch (plan.command) {
    case "upgrade":
      if (plan.expectVersion) await checkCurrentVersion(ctx, plan.expectVersion);
      return (await import("./cas-upgrade.ts")).run(sub);
    case "backup":
      return (await import("./cas-backup.ts")).run(sub);
    case "restore": {
      const { snapshotDirSource } = await import("../../flows/recovery/snapshot-dir.ts");
      return (await import("./cas-restore.ts")).run(sub, {
        // A bad directory fails the restore's first step, before anything is created.
        resolveSource: (dir) => snapshotDirSource(dir),
        rerun,
      });
    }
  }
}

async function checkCurrentVersion(ctx: SconeContext, expected: string): Promise<void> {
  const [{ readCas }, { parseImage }] = await Promise.all([
    import("../../flows/status/observe.ts"),
    import("../../flows/upgrade/plan.ts"),
  ]);
  const a = ctx.args;
  const id = { name: textFlag(a.name) ?? "cas", namespace: textFlag(a.namespace) ?? "default" };
  const kube = await openKube(a);
  const cas = await readCas(kube, id);
  if (!cas) return; // the upgrade flow says that the CAS does not exist
  const problem = setVersionProblem(expected, { ...id, imageTag: parseImage(cas.spec?.image ?? "").tag });
  if (problem) throw new CliError(problem, EXIT_USAGE);
}
