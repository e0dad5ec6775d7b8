// The shape of a scone command: a citty command definition whose meta, args and subcommands are plain
// objects (never lazy), so help, validation and shell completion can walk the whole tree without loading
// any implementation. Only `run` is lazy: it imports the module that does the work.
import type { ArgDef, CommandContext, CommandDef } from "citty";
import type { CompletionSource } from "./complete/line.ts";

/** A citty argument plus an optional value check that names the flag and the fix. */
export type SconeArgDef = ArgDef & {
  /** Returns an error message (without the command prefix) for a bad value, undefined when fine. */
  check?: (value: string) => string | undefined;
  /** The values a positional accepts (for help and shell completion; `check` still validates). */
  choices?: readonly string[];
  /** Hidden from help and completion. */
  hidden?: boolean;
  /** The shell completes the value with names read from the cluster (`scone __complete SOURCE`). */
  complete?: CompletionSource;
  /**
   * Upstream flags that mean nothing in scone: `note` accepts the flag and prints the note on stderr,
   * `refuse` rejects it with the text as the hint. Help lists them in their own section.
   */
  upstream?: { note: string } | { refuse: string };
};
export type SconeArgsDef = Record<string, SconeArgDef>;

/** Parsed values after validation: flag name → value, as citty's parser produces them. */
export type FlagValues = Record<string, string | boolean | undefined>;

export interface SconeCommandMeta {
  name: string;
  description: string;
  hidden?: boolean;
}

export interface SconeCommand extends CommandDef<SconeArgsDef> {
  meta: SconeCommandMeta;
  args?: SconeArgsDef;
  subCommands?: Record<string, SconeCommand>;
  /** Cross-flag rules (A needs B, X and Y together). Returns one error message or undefined. */
  checks?: (values: FlagValues) => string | undefined;
  /** Extra paragraphs printed at the end of `--help` (examples, compatibility notes). */
  notes?: string[];
  /**
   * Flags this command once spelled differently: old name → current name. The old spelling is refused with a
   * message naming the current one (a flag keeps one meaning across commands, so the old one cannot stay an alias).
   */
  renamed?: Readonly<Record<string, string>>;
  /**
   * Why this command has no `-o`: every command that prints data takes `-o text|json|yaml`, the rest say why not
   * (checked by test/unit/cli/conventions.test.ts, so a new command has to choose).
   */
  printsNoData?: string;
  /** The global flags that make sense for this command (default: all of them). */
  globals?: readonly string[];
}

export type SconeContext = CommandContext<SconeArgsDef>;

/**
 * Exit codes, the same for every command (docs/cli.md): 0 ok, 1 failure, 2 usage (bad flags or arguments: nothing
 * was done), 3 differs (a report found something to change, e.g. `scone operator install` without --update).
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_DIFFERS = 3;
/** A command this binary was built without is a failure to run it, not a fourth kind of outcome. */
export const EXIT_NOT_IMPLEMENTED = EXIT_FAILURE;

/** Thrown by commands; the driver prints `scone <cmd>: <message>` on stderr and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
    readonly hint?: string,
    /** What went wrong underneath (shown with --verbose as `caused by:` lines). */
    options?: { readonly cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CliError";
  }
}

export class NotImplementedError extends CliError {
  constructor(readonly issue: number) {
    super(`not implemented yet (tracked in issue ${issue})`, EXIT_NOT_IMPLEMENTED);
    this.name = "NotImplementedError";
  }
}

/** A `run` for commands whose implementation does not exist yet. */
export function notImplemented(issue: number): () => never {
  return () => {
    throw new NotImplementedError(issue);
  };
}
