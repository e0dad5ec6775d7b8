// `scone completion bash|zsh|fish`.
import { rootCommand } from "../commands/root.ts";
import { COMPLETION_SHELLS, renderCompletion, type Shell } from "../completion.ts";
import { CliError, type SconeContext } from "../spec.ts";

function isShell(value: unknown): value is Shell {
  return typeof value === "string" && (COMPLETION_SHELLS as readonly string[]).includes(value);
}

export function run(ctx: SconeContext): void {
  const shell = ctx.args.shell;
  if (!isShell(shell)) throw new CliError(`unknown shell '${String(shell)}': expected bash, zsh or fish`);
  process.stdout.write(renderCompletion(shell, rootCommand));
}
