// Standard output for the CLI. The driver's own output (help, usage, version) goes through Bun's native
// console.write: process.stdout is a Node stream Bun builds on first touch, which costs ≈8 ms, more than all the rest
// of `scone version`. Commands that write to process.stdout get the EPIPE guard installed before they run.

/** `scone … | head` closing the pipe is the reader's choice, not an error: end quietly with the exit code so far. */
function endOnEpipe(error: unknown): void {
  if ((error as NodeJS.ErrnoException | undefined)?.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
}

/** Writes text to stdout without building process.stdout. */
export function writeStdout(text: string): void {
  try {
    // A pipe that cannot take the text right away answers a promise; it rejects on EPIPE.
    const pending = console.write(text);
    if (pending instanceof Promise) pending.catch(endOnEpipe);
  } catch (error) {
    endOnEpipe(error);
  }
}

/** Whether stdout is a terminal, asked of fd 1 (as process.stdout.isTTY is) without building process.stdout. */
export function stdoutIsTerminal(): boolean {
  // Loaded on demand: node:tty costs ≈2 ms at start and only help (colour) asks.
  const { isatty } = require("node:tty") as typeof import("node:tty");
  return isatty(1);
}

let guarded = false;
/** Installs the EPIPE guard on process.stdout (once), for commands that write to it. */
export function guardStdoutPipe(): void {
  if (guarded) return;
  guarded = true;
  process.stdout.on("error", endOnEpipe);
}
