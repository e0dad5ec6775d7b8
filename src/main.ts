// Entry point of the scone binary. Kept tiny: the CLI tree loads each command's implementation lazily,
// so `scone version` and `--help` start without the Kubernetes, HTTP, SQL or YAML libraries.
// exitCode instead of exit(): long-running commands (operator, api) keep the process alive by themselves.
import { runCli } from "./cli/main.ts";

process.exitCode = await runCli(process.argv.slice(2));
