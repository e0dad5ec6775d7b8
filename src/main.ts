// Entry point of the scone binary. Kept tiny: the CLI tree loads each command's implementation lazily,
// so `scone version` and `--help` start without the Kubernetes, HTTP, SQL or YAML libraries.
// exitCode instead of exit(): long-running commands (operator, api) keep the process alive by themselves.
import { runCli } from "./cli/main.ts";

// process.stdout is not touched here: building it costs more than the rest of `scone version` (see cli/stdout.ts;
// a command's run installs the EPIPE guard that `scone manifests crds | head` needs).
// No top-level await: the entry stays valid when bundled as CommonJS (`bun build --bytecode` defaults to it).
void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
