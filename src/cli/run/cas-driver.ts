// The CasDriverSource a CLI command uses (issue 13): from its flags — `--scone-cli PATH` for a local SCONE CLI,
// else the sconecli pod of each CAS — named the way the command names its images (`--image-registry`,
// `--image-prefix`, `--set-version` when it has them).

import { CLI_NODE_SELECTOR_FLAG, cliNodeSelector } from "../../cas/driver/node-selector.ts";
import type { CasDriverSource } from "../../cas/driver/reach.ts";
import type { KubeClient } from "../../kube/client.ts";
import { textFlag } from "../flags.ts";
import { CliError, EXIT_USAGE, type FlagValues } from "../spec.ts";

export async function cliCasDriverSource(
  args: FlagValues,
  kube: KubeClient,
  warn: (message: string) => void = (m) => process.stderr.write(`warning: ${m}\n`),
): Promise<CasDriverSource> {
  const [{ casDriverSource }, { resolveStateDir }] = await Promise.all([
    import("../../cas/driver/source.ts"),
    import("../../store/state-dir.ts"),
  ]);
  const sconeCli = textFlag(args["scone-cli"]) ?? (args.docker === false ? await noDockerCli() : undefined);
  const nodeSelector = cliNodeSelector(textFlag(args[CLI_NODE_SELECTOR_FLAG]));
  if (sconeCli !== undefined && nodeSelector !== undefined) throw new CliError(BOTH_PLACEMENT_FLAGS, EXIT_USAGE);
  const imageRepo = textFlag(args["image-registry"]);
  const imagePrefix = textFlag(args["image-prefix"]);
  const serviceVersion = textFlag(args["set-version"]);
  return casDriverSource({
    kube,
    stateDir: resolveStateDir({ flag: textFlag(args["state-dir"]), mode: "cli" }),
    ...(sconeCli !== undefined ? { sconeCli } : {}),
    imageMirror: { ...(imageRepo ? { imageRepo } : {}), ...(imagePrefix ? { imagePrefix } : {}) },
    ...(serviceVersion ? { serviceVersion } : {}),
    ...(nodeSelector ? { nodeSelector } : {}),
    warn,
  });
}

const BOTH_PLACEMENT_FLAGS =
  "--cli-node-selector places the sconecli pod, which a local SCONE CLI (--scone-cli, --no-docker) does not use: leave one of them out";

/** upstream's `--no-docker`: the local SCONE CLI, or a refusal naming where scone looked (never ignored). */
export async function noDockerCli(): Promise<string> {
  const { localSconeCli, UPSTREAM_CLI_PATH } = await import("../../cas/driver/cli-path.ts");
  const found = localSconeCli(process.env.PATH, process.execPath);
  if (found) return found;
  throw new CliError(
    `--no-docker: no local SCONE CLI found (${UPSTREAM_CLI_PATH}, or a 'scone' on PATH other than this program); ` +
      "pass --scone-cli PATH, or leave out --no-docker to run the CLI in the sconecli pod of the CAS",
    EXIT_USAGE,
  );
}
