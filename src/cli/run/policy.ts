// `scone policy sign|encrypt|verify`: flags and files in, manifests and verdicts out. The manifests and the checks
// are the policy flow's (src/flows/policy/); the SCONE CLI runs through the CAS driver with the owner's CLI config
// (`--target`, src/cli/run/policy-driver.ts).

import { PolicyDocumentError } from "../../flows/policy/errors.ts";
import {
  encryptedPolicyManifest,
  type ManifestFormat,
  type ManifestTarget,
  parseEncryptedSession,
  parseSignedSession,
  renderManifest,
  resourceNameOf,
  sessionNameOf,
  signedPolicyManifest,
} from "../../flows/policy/manifest.ts";
import { type ManifestVerdict, renderVerdicts, verifyManifestText } from "../../flows/policy/verify.ts";
import { textFlag } from "../flags.ts";
import { isData, renderData } from "../output.ts";
import { CliError, EXIT_USAGE, type SconeContext } from "../spec.ts";
import type { PolicyDriver } from "./policy-driver.ts";

const CAS_CLIENT_PORT = 8081;

/** `--cas-address`, else `https://NAME.NS:8081` from `--cas` / `-n`. */
export function casAddressOf(flags: {
  casAddress?: string | undefined;
  cas?: string | undefined;
  namespace?: string | undefined;
}): string {
  if (flags.casAddress) {
    let url: URL;
    try {
      url = new URL(flags.casAddress);
    } catch {
      throw new CliError(
        `invalid value '${flags.casAddress}' for --cas-address: expected a URL such as https://cas.my-ns:8081`,
      );
    }
    if (url.protocol !== "https:") {
      throw new CliError(`invalid value '${flags.casAddress}' for --cas-address: the CAS client API is https://`);
    }
    return flags.casAddress.replace(/\/+$/, "");
  }
  if (flags.cas) return `https://${flags.cas}.${flags.namespace ?? "default"}:${CAS_CLIENT_PORT}`;
  throw new CliError("no CAS given", EXIT_USAGE, "Give --cas-address URL, or --cas NAME -n NAMESPACE.");
}

function policyFile(ctx: SconeContext): string {
  const path = textFlag(ctx.args.file) ?? textFlag(ctx.args.filename);
  if (!path) throw new CliError("missing the policy file", EXIT_USAGE, "Give it as FILE or with --filename FILE.");
  return path;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await Bun.file(path).text();
  } catch (err) {
    throw new CliError(`${what} ${path}: cannot read (${err instanceof Error ? err.message : String(err)})`);
  }
}

const formatOf = (ctx: SconeContext): ManifestFormat => (ctx.args.output === "json" ? "json" : "yaml");

/** metadata and casAddress from the flags; the name from --name, else the session's own name. */
async function targetOf(ctx: SconeContext, sessionText: string, path: string): Promise<ManifestTarget> {
  const namespace = textFlag(ctx.args.namespace);
  const casAddress = casAddressOf({
    casAddress: textFlag(ctx.args["cas-address"]),
    cas: textFlag(ctx.args.cas),
    namespace,
  });
  const given = textFlag(ctx.args.name);
  const sessionName = given ? undefined : await sessionNameOf(sessionText);
  if (!given && !sessionName)
    throw new CliError(`${path}: the session has no name`, 1, "Give metadata.name with --name NAME.");
  return { casAddress, name: given ?? resourceNameOf(sessionName ?? ""), namespace };
}

/** Runs `use` with the driver, releasing it after; driver failures become CliErrors naming the CLI. */
async function withDriver<T>(ctx: SconeContext, use: (d: PolicyDriver) => Promise<T>): Promise<T> {
  const { openPolicyDriver } = await import("./policy-driver.ts");
  const opened = await openPolicyDriver(ctx.args);
  try {
    return await use(opened);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`SCONE CLI: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await opened.release();
  }
}

/** A document or CLI output not in the documented format is the user's error to fix: exit 1 with its message. */
async function documentErrorsAsCli<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof PolicyDocumentError) throw new CliError(err.message, undefined, undefined, { cause: err });
    throw err;
  }
}

export const sign = (ctx: SconeContext): Promise<void> => documentErrorsAsCli(() => signPolicy(ctx));
export const encrypt = (ctx: SconeContext): Promise<void> => documentErrorsAsCli(() => encryptPolicy(ctx));
export const verify = (ctx: SconeContext): Promise<void> => documentErrorsAsCli(() => verifyPolicies(ctx));

async function signPolicy(ctx: SconeContext): Promise<void> {
  const path = policyFile(ctx);
  const text = await readText(path, "policy file");
  const target = await targetOf(ctx, text, path);
  const out = await withDriver(ctx, ({ driver }) => driver.signSession(text));
  process.stdout.write(await renderManifest(signedPolicyManifest(parseSignedSession(out), target), formatOf(ctx)));
}

async function encryptPolicy(ctx: SconeContext): Promise<void> {
  const path = policyFile(ctx);
  const text = await readText(path, "policy file");
  const target = await targetOf(ctx, text, path);
  const key = textFlag(ctx.args["encryption-key"]);
  // --key KEY, else in the sconecli pod the CAS by its Service (as the owner's config attested it), else the
  // local CLI config's default CAS (SCONE-CLI §6).
  const out = await withDriver(ctx, ({ driver, podCasAddress }) =>
    key ? driver.encryptSession(text, undefined, key) : driver.encryptSession(text, podCasAddress),
  );
  process.stdout.write(
    await renderManifest(encryptedPolicyManifest(parseEncryptedSession(out), target), formatOf(ctx)),
  );
}

async function verifyPolicies(ctx: SconeContext): Promise<void> {
  const path = policyFile(ctx);
  const encryptionKey = textFlag(ctx.args["encryption-key"]);
  let opened: PolicyDriver | undefined;
  let verdicts: ManifestVerdict[];
  try {
    verdicts = await verifyManifestText(
      await readText(path, "manifest"),
      async () => {
        opened ??= await (await import("./policy-driver.ts")).openPolicyDriver(ctx.args);
        return opened.driver;
      },
      encryptionKey ? { encryptionKey } : {},
    );
  } finally {
    await opened?.release();
  }
  process.stdout.write(isData(ctx.args.output) ? renderData(ctx.args.output, verdicts) : renderVerdicts(verdicts));
  const bad = verdicts.filter((v) => !v.ok);
  if (bad.length > 0)
    throw new CliError(
      `${bad.length} of ${verdicts.length} ${verdicts.length === 1 ? "policy is" : "policies are"} not well-formed`,
    );
}
