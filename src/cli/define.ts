// Helpers to declare commands: merge the chosen global flags into a command's own flags, and make `run`
// load its implementation module only when the command actually runs (start-up speed).
import { ALL_GLOBALS, pickGlobals } from "./globals.ts";
import type { SconeCommand, SconeContext } from "./spec.ts";
import { guardStdoutPipe } from "./stdout.ts";

export function command(def: SconeCommand): SconeCommand {
  return { ...def, args: { ...pickGlobals(def.globals ?? ALL_GLOBALS), ...def.args } };
}

/** A group of subcommands; it takes the global flags so they may appear before the subcommand name. */
export function group(def: Omit<SconeCommand, "run"> & { subCommands: Record<string, SconeCommand> }): SconeCommand {
  return command(def);
}

/** A command implementation; a number it returns is the exit code (after printing its answer), else 0. */
export type RunModule = { run: (ctx: SconeContext) => unknown };

/** The implementations write to process.stdout, so its EPIPE guard is installed before one loads. */
export function lazyRun(load: () => Promise<RunModule>): (ctx: SconeContext) => Promise<unknown> {
  return async (ctx) => {
    guardStdoutPipe();
    return (await load()).run(ctx);
  };
}
