// How a failed command's error reads with --verbose / --debug: its message and the chain of causes, one line each.
// Never the stack: the compiled binary's frames name bundle chunks (/$bunfs/root/chunk-….js:2:2837), which tell a
// user nothing and a developer little. Pure, so the CLI driver and the tests format errors the same way.
import { CliError } from "./spec.ts";

/** At most this many causes are followed (a cause chain can loop). */
const MAX_CAUSES = 8;

function describe(value: unknown): string {
  if (value instanceof Error) {
    const name = value.name && value.name !== "Error" ? `${value.name}: ` : "";
    return `${name}${value.message}`;
  }
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * The lines that follow the `scone <cmd>: <message>` line in verbose mode: `caused by: <name>: <message>` for each
 * cause of `error`, outermost first. A cause whose text the message already holds is still listed (it names the
 * error type, which the message may not).
 */
export function causeLines(error: unknown): string[] {
  const lines: string[] = [];
  const seen = new Set<unknown>([error]);
  let current: unknown = error instanceof Error ? error.cause : undefined;
  while (current !== undefined && current !== null && lines.length < MAX_CAUSES && !seen.has(current)) {
    seen.add(current);
    lines.push(`caused by: ${describe(current)}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return lines;
}

/**
 * The verbose text of an error: its type (unless a plain Error or the CLI's own CliError, whose type says nothing)
 * and its causes; "" or lines ending with a newline.
 */
export function verboseErrorText(error: unknown): string {
  const typed = error instanceof Error && error.name !== "Error" && !(error instanceof CliError);
  const lines = typed ? [`error type: ${error.name}`] : [];
  lines.push(...causeLines(error));
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
