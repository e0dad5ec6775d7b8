// The CLI driver: pick the personality, find the command, print help, validate, then let citty parse and
// run it. Messages name the command (`scone cas provision: …`); output goes to stdout, messages to stderr.
// Exit codes (spec.ts): 0 ok, 1 failure, 2 usage, 3 differs.
import { SCONE_COMMIT, SCONE_VERSION } from "../version.ts";
import { rootCommand } from "./commands/root.ts";
import { COMPLETE_COMMAND } from "./complete/line.ts";
import { verboseErrorText } from "./error-text.ts";
import { helpColour, renderHelp } from "./help.ts";
import {
  detectPersonality,
  kubectlProvisionUsage,
  pluginVersion,
  translateKubectlProvisionArgs,
} from "./kubectl-provision.ts";
import { CliError, EXIT_FAILURE, EXIT_USAGE, type SconeCommand } from "./spec.ts";
import { stdoutIsTerminal, writeStdout } from "./stdout.ts";
import { resolveCommand, validateArgs, wantsHelp } from "./validate.ts";

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  stdoutIsTTY: boolean | undefined;
  argv0?: string;
  execPath?: string;
}

export function processIo(): CliIo {
  return {
    stdout: writeStdout,
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    // Asked only when help decides on colour.
    get stdoutIsTTY() {
      return stdoutIsTerminal();
    },
    argv0: process.argv0,
    execPath: process.execPath,
  };
}

function fail(io: CliIo, prefix: string, message: string, hint: string | undefined, code: number): number {
  io.stderr(`${prefix}: ${message}\n${hint ? `${hint}\n` : ""}`);
  return code;
}

/** Runs one invocation; resolves to the exit code once the command has finished. */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  if (detectPersonality(io) === "kubectl-provision") return runKubectlProvision(argv, io);
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
    io.stdout(`scone ${SCONE_VERSION} (commit ${SCONE_COMMIT}, bun ${Bun.version})\n`);
    return 0;
  }
  // The shell's question for names from the cluster (completion scripts call it): never an error, never help.
  if (argv[0] === COMPLETE_COMMAND) {
    const { completionCandidates } = await import("./complete/candidates.ts");
    io.stdout(await completionCandidates(argv[1], argv.slice(2)));
    return 0;
  }
  return runScone(argv, io, "scone");
}

async function runKubectlProvision(argv: readonly string[], io: CliIo): Promise<number> {
  const prefix = "kubectl provision";
  const hint = "Run 'kubectl provision --help' for usage.";
  const beforeDashes = argv.slice(0, argv.includes("--") ? argv.indexOf("--") : argv.length);
  if (beforeDashes.includes("--help") || beforeDashes.includes("-h")) {
    io.stdout(kubectlProvisionUsage());
    return 0;
  }
  if (beforeDashes.includes("--version")) {
    io.stdout(`${pluginVersion()}\n`);
    return 0;
  }
  let translated: ReturnType<typeof translateKubectlProvisionArgs>;
  try {
    translated = translateKubectlProvisionArgs(argv, io.env);
  } catch (error) {
    if (error instanceof CliError) return fail(io, prefix, error.message, hint, EXIT_USAGE);
    throw error;
  }
  for (const warning of translated.warnings) io.stderr(`${prefix}: note: ${warning}\n`);
  return runScone(translated.command, io, prefix, hint);
}

const isExitCode = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 255;

async function runScone(
  argv: readonly string[],
  io: CliIo,
  displayPrefix: string,
  fixedHint?: string,
): Promise<number> {
  const { command, path, rest } = resolveCommand(rootCommand, argv);
  const name = displayPrefix === "scone" ? ["scone", ...path].join(" ") : displayPrefix;
  const usageHint = fixedHint ?? `Run '${name} --help' for usage.`;

  if (wantsHelp(rest)) {
    io.stdout(renderHelp(command, path, { color: helpColour(io.stdoutIsTTY, io.env) }));
    return 0;
  }
  const verdict = validateArgs(command, rest);
  if (!verdict.ok) return fail(io, name, verdict.message, verdict.hint ?? usageHint, EXIT_USAGE);
  for (const note of verdict.notes) io.stderr(`${name}: note: ${note}\n`);
  if (!command.run) {
    const subs = Object.keys(command.subCommands ?? {}).join(", ");
    return fail(io, name, `missing command (one of: ${subs})`, usageHint, EXIT_USAGE);
  }

  // Commands and the libraries they call read the level from the environment (SCONE_LOG_LEVEL).
  const { values } = verdict;
  if (typeof values["log-level"] === "string") io.env.SCONE_LOG_LEVEL = values["log-level"];
  else if (values.verbose === true || values.debug === true) io.env.SCONE_LOG_LEVEL = "debug";

  // The subcommands were resolved above; citty only parses the leaf's flags and runs it.
  const leaf: SconeCommand = { ...command, subCommands: undefined };
  try {
    // citty (and the node:util it loads, ≈1 ms) only once a command runs: help and usage errors do without.
    const { runCommand } = await import("citty");
    const { result } = await runCommand(leaf, { rawArgs: [...rest] });
    // A command that printed its answer and still failed (nothing found, a chain that does not verify) returns its
    // exit code; process.exitCode would be overwritten by this return.
    return isExitCode(result) ? result : 0;
  } catch (error) {
    const code = fail(
      io,
      name,
      error instanceof Error ? error.message : String(error),
      error instanceof CliError ? error.hint : undefined,
      error instanceof CliError ? error.exitCode : EXIT_FAILURE,
    );
    // Verbose: the error's type and causes, readable; never the stack (frames of bundle chunks in the binary).
    if (io.env.SCONE_LOG_LEVEL === "debug") io.stderr(verboseErrorText(error));
    return code;
  }
}
