// The SCONE CLI `scone policy sign|encrypt|verify` run: the owner's CLI config (`--target DIR`, upstream's layout
// DIR/identity/config.json, default ~/.cas) with a local SCONE CLI (`--scone-cli PATH`, `--no-docker`), which needs
// no cluster and no CAS; else the sconecli pod of the CAS named by --cas/-n, the owner's config travelling with
// each call (src/cas/driver/pod-source.ts).
import { stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { CasDriver } from "../../cas/driver/driver.ts";
import { openKube, textFlag } from "../flags.ts";
import { CliError, EXIT_USAGE, type FlagValues } from "../spec.ts";

export interface PolicyDriver {
  readonly driver: CasDriver;
  /** The CAS address the CLI is given in the sconecli pod (the Service); undefined for a local CLI. */
  readonly podCasAddress: string | undefined;
  readonly release: () => Promise<void>;
}

/** Upstream's owner layout (SCONE-INTERFACE §10.3): `<target>/identity/config.json`, target default ~/.cas. */
export function ownerConfigPath(target: string | undefined): string {
  return join(target ?? join(homedir(), ".cas"), "identity", "config.json");
}

/** The owner config must exist: a CLI given none would make a fresh identity and sign with it. */
async function requireOwnerConfig(path: string): Promise<void> {
  const s = await stat(path).catch(() => undefined);
  if (!s?.isFile())
    throw new CliError(
      `no SCONE CLI config at ${path}`,
      1,
      "Give --target DIR holding identity/config.json (the owner identity scone cas provision or upstream's kubectl provision wrote).",
    );
}

/** Which SCONE CLI: a local binary when --scone-cli/--no-docker says so, else the sconecli pod of --cas/-n. */
export async function openPolicyDriver(args: FlagValues): Promise<PolicyDriver> {
  const configPath = ownerConfigPath(textFlag(args.target));
  await requireOwnerConfig(configPath);
  const [{ CasDriver }, { noDockerCli }] = await Promise.all([
    import("../../cas/driver/driver.ts"),
    import("./cas-driver.ts"),
  ]);
  const warn = (m: string) => process.stderr.write(`warning: ${m}\n`);
  const sconeCli = textFlag(args["scone-cli"]) ?? (args.docker === false ? await noDockerCli() : undefined);
  if (sconeCli !== undefined) {
    const [{ sconeCliProblem }, { LocalCliRunner }] = await Promise.all([
      import("../../cas/driver/cli-path.ts"),
      import("../../cas/driver/runner.ts"),
    ]);
    const problem = sconeCliProblem(sconeCli);
    if (problem) throw new CliError(`invalid value '${sconeCli}' for --scone-cli: ${problem}`, EXIT_USAGE);
    const runner = new LocalCliRunner({ binary: [resolve(sconeCli)], configPath });
    return { driver: new CasDriver(runner, warn), podCasAddress: undefined, release: async () => {} };
  }
  const cas = textFlag(args.cas);
  if (!cas)
    throw new CliError(
      "no SCONE CLI to run",
      EXIT_USAGE,
      "Give --scone-cli PATH (or --no-docker) for a local SCONE CLI, or --cas NAME -n NAMESPACE to run it in the sconecli pod of that CAS.",
    );
  const [{ cliCasDriverSource }] = await Promise.all([import("./cas-driver.ts")]);
  const kube = await openKube(args);
  const source = await cliCasDriverSource(args, kube, warn);
  const conn = await source.connect(
    { name: cas, namespace: textFlag(args.namespace) ?? "default" },
    { kind: "owner", configPath },
  );
  return { driver: conn.driver, podCasAddress: conn.address, release: () => conn.release() };
}
