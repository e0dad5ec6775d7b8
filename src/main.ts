// Entry point of the scone binary. Kept tiny: the CLI tree loads each command's implementation lazily,
// so `scone version` and `--help` start without the Kubernetes, HTTP, SQL or YAML libraries.
// exitCode instead of exit(): long-running commands (operator, api) keep the process alive by themselves.
import { runCli } from "./cli/main.ts";

// `scone manifests crds | head` closes the pipe early; that is the reader's choice, not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

// No top-level await: the entry stays valid when bundled as CommonJS (`bun build --bytecode` defaults to it).
void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
