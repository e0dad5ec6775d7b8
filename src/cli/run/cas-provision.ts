// `scone cas provision NAME -n NS` (and `kubectl provision cas NAME …`): flags → the provisioning flow
// (src/flows/provision), progress on stderr (a spinner with elapsed time per step on a terminal, one plain line per
// step otherwise), results on stdout (exports, public keys, the verify sentence) so `eval "$(…)"` works, and with
// `-o json`/`-o yaml` one document with every step and its outcome.

import type { StepRecord } from "../../flows/steps.ts";
import { openKube } from "../flags.ts";
import { isData, renderData } from "../output.ts";
import { CliError, EXIT_USAGE, type SconeContext } from "../spec.ts";

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const MARK: Record<StepRecord["outcome"], string> = { done: "✓", skipped: "·", failed: "✗" };

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** One finished step as a line (also the plain, non-terminal progress format). */
export function stepLine(record: StepRecord): string {
  const detail = record.detail ? `: ${record.detail}` : "";
  return `${MARK[record.outcome]} ${record.title}${detail} (${record.outcome === "skipped" ? "skipped, " : ""}${seconds(record.elapsedMs)})`;
}

export interface ProgressSink {
  start(step: { name: string; title: string }): void;
  finish(record: StepRecord): void;
  /** A warning line; on a terminal it goes above the spinner. */
  warn(message: string): void;
  stop(): void;
}

export function terminalProgress(out: { write(text: string): unknown }): ProgressSink {
  let timer: ReturnType<typeof setInterval> | undefined;
  let frame = 0;
  const clear = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    out.write("\r\x1b[2K");
  };
  return {
    start(step) {
      clear();
      const t0 = performance.now();
      const draw = () => {
        frame = (frame + 1) % SPINNER.length;
        out.write(`\r\x1b[2K${SPINNER[frame]} ${step.title} ${seconds(performance.now() - t0)}`);
      };
      draw();
      timer = setInterval(draw, 100);
    },
    finish(record) {
      clear();
      out.write(`${stepLine(record)}\n`);
    },
    warn(message) {
      out.write(`\r\x1b[2Kwarning: ${message}\n`); // the spinner redraws itself on its next tick
    },
    stop: clear,
  };
}

function plainProgress(out: NodeJS.WritableStream): ProgressSink {
  return {
    start() {},
    finish(record) {
      out.write(`${stepLine(record)}\n`);
    },
    warn(message) {
      out.write(`warning: ${message}\n`);
    },
    stop() {},
  };
}

export async function run(ctx: SconeContext): Promise<void> {
  const [{ provisionOptionsFromFlags, ProvisionOptionError }, { runProvision }, { realProvisionPorts }] =
    await Promise.all([
      import("../../flows/provision/options.ts"),
      import("../../flows/provision/flow.ts"),
      import("../../flows/provision/ports.ts"),
    ]);
  const a = ctx.args as Record<string, unknown>;
  let options: ReturnType<typeof provisionOptionsFromFlags>;
  try {
    options = provisionOptionsFromFlags(a, {
      ...(process.env.TARGET_MOUNT_DIR ? { TARGET_MOUNT_DIR: process.env.TARGET_MOUNT_DIR } : {}),
    });
  } catch (e) {
    if (e instanceof ProvisionOptionError) throw new CliError(e.message, EXIT_USAGE);
    throw e;
  }
  const { isDayTwoMode } = await import("../provision-day-two.ts");
  if (isDayTwoMode(options.mode)) {
    // --upgrade, --local-backup, --cas-database-recovery: the upgrade, backup and restore commands' flows.
    const { runDayTwo } = await import("./provision-day-two.ts");
    const flag = options.mode === "local-backup" ? "" : ` ${options.upgradeTo ?? options.recoveryDir ?? ""}`;
    const rerun = `scone cas provision ${options.name} -n ${options.namespace} --${options.mode}${flag}`;
    return runDayTwo(ctx, options.mode, rerun);
  }
  const data = isData(a.output) ? a.output : undefined;
  const client = await openKube(a);
  const sink: ProgressSink = data
    ? { start() {}, finish() {}, warn: (m) => process.stderr.write(`warning: ${m}\n`), stop() {} }
    : process.stderr.isTTY
      ? terminalProgress(process.stderr)
      : plainProgress(process.stderr);

  const { cliCasDriverSource } = await import("./cas-driver.ts");
  const warn = (message: string) => sink.warn(message);
  const ports = realProvisionPorts(client, options, {
    warn,
    casSource: await cliCasDriverSource(ctx.args, client, warn),
  });
  const stopOnSignal = () => {
    sink.stop();
    process.exit(130);
  };
  process.once("SIGINT", stopOnSignal);
  let outcome: Awaited<ReturnType<typeof runProvision>>;
  try {
    outcome = await runProvision(options, ports, { progress: { start: sink.start, finish: sink.finish } });
  } finally {
    sink.stop();
    process.off("SIGINT", stopOnSignal);
  }

  if (data) {
    process.stdout.write(
      renderData(data, {
        name: outcome.name,
        namespace: outcome.namespace,
        mode: outcome.mode,
        ok: outcome.ok,
        steps: outcome.steps,
        ...(outcome.publicKeys ? { publicKeys: outcome.publicKeys } : {}),
        output: outcome.output,
        ...(outcome.error ? { error: outcome.error } : {}),
      }),
    );
  } else {
    for (const line of outcome.output) process.stdout.write(`${line}\n`);
  }
  if (outcome.exitCode !== 0)
    throw new CliError(outcome.error ?? "failed", outcome.exitCode, undefined, { cause: outcome.cause });
}
