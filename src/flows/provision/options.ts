// What `scone cas provision` (and `kubectl provision cas`) was asked to do, from the command's flags. Pure: no I/O,
// so the CLI, the API's operation runner and tests build options the same way.

import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { VerifierSettings } from "../../cas/driver/commands.ts";
import { TolerationsError, verifiersWithTolerations } from "../../cas/driver/tolerations.ts";
import { durationProblem, durationSeconds } from "../../cli/duration.ts";
import {
  casName,
  type Grammar,
  grammarProblem,
  hex32,
  httpUrl,
  imagePrefix as imagePrefixGrammar,
  imageReference,
  imageRegistry,
  namespaceName,
  normalizeRegistry,
  sconeVersion,
  serverAddress,
} from "../../resources/grammar.ts";
import { DEFAULT_SCONE_SERVICE_VERSION } from "../../version.ts";
import { PROVISION_MODES, type ProvisionMode } from "./modes.ts";

export { PROVISION_MODES, type ProvisionMode };

export interface ProvisionOptions {
  readonly name: string;
  readonly namespace: string;
  readonly mode: ProvisionMode;
  /** `$TARGET_DIR`: identities, owner config, journal (default ~/.cas). */
  readonly target: string;
  readonly version: string;
  readonly imageRepo?: string;
  /** `--image-prefix` (upstream IMAGE_PREFIX): prefix of the image names, e.g. "osc-". */
  readonly imagePrefix?: string;
  /** `--image-overwrite`: a non-standard CAS image. */
  readonly imageOverwrite?: string;
  /** `--nonce`; random when absent (only used when the CAS is created). */
  readonly nonce?: string;
  readonly dcapKey?: string;
  /** `--owner-config FILE`: used instead of the rendered owner config. */
  readonly ownerConfigFile?: string;
  readonly webhook?: string;
  readonly backup: boolean;
  readonly wait: boolean;
  /** `--filename FILE`: replaces the post-provisioning JSON patch. */
  readonly patchFile?: string;
  /** `--manifests-dir DIR`: local directory with upstream's files, read instead of the embedded ones. */
  readonly manifestsDir?: string;
  /** `--cas-address ADDR[:PORT]`: reach the CAS there instead of through a port-forward. */
  readonly casAddress?: string;
  readonly casClientPort?: number;
  readonly localCasClientPort?: number;
  /** `--postprovision-owner-identity FILE`: the owner identity (CLI config) for --postprovision-only. */
  readonly postprovisionOwnerIdentity?: string;
  /** `--upgrade VER` / `--cas-database-recovery DIR` (owned by `scone cas upgrade` / `scone cas restore`). */
  readonly upgradeTo?: string;
  readonly recoveryDir?: string;
  /** --set-tolerations: upstream's two attestation sets with these tolerance flags (src/cas/driver/tolerations.ts). */
  readonly verifiers?: readonly VerifierSettings[];
  /** How long to wait for the pod, the CAS and HEALTHY (default 600 s). */
  readonly timeoutSeconds: number;
}

export class ProvisionOptionError extends Error {
  override readonly name = "ProvisionOptionError";
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function port(value: unknown, flag: string): number | undefined {
  const text = str(value);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) {
    throw new ProvisionOptionError(`invalid value '${text}' for --${flag}: expected a port number between 1 and 65535`);
  }
  return n;
}

/** `~/x` → the home directory's x (shells do not expand a tilde after `=`). */
function expandHome(path: string, home: string): string {
  return path === "~" ? home : path.startsWith("~/") ? join(home, path.slice(2)) : path;
}

export interface OptionEnv {
  readonly home?: string;
  /** Upstream's container variable: the target directory as mounted. */
  readonly TARGET_MOUNT_DIR?: string;
}

/** Flags (citty's parsed values) → options; throws ProvisionOptionError naming the flag and the fix. */
export function provisionOptionsFromFlags(
  flags: Readonly<Record<string, unknown>>,
  env: OptionEnv = {},
): ProvisionOptions {
  const name = str(flags.name);
  if (!name) throw new ProvisionOptionError("missing CAS NAME: scone cas provision NAME -n NAMESPACE");
  const given = PROVISION_MODES.filter((m) => flags[m] !== undefined && flags[m] !== false);
  if (given.length > 1) {
    throw new ProvisionOptionError(`${given.map((m) => `--${m}`).join(" and ")} cannot be used together`);
  }
  const home = env.home ?? homedir();
  const target = resolve(expandHome(str(flags.target) ?? env.TARGET_MOUNT_DIR ?? join(home, ".cas"), home));
  const backup = flags.backup !== false;
  const wait = flags.wait === true;
  if (wait && !backup) throw new ProvisionOptionError("--wait cannot be used with --no-backup (as upstream)");
  const manifestsDir = str(flags["manifests-dir"]);
  if (manifestsDir && /^https?:\/\//.test(manifestsDir)) {
    throw new ProvisionOptionError(
      `--manifests-dir ${manifestsDir}: scone does not download manifests (it embeds upstream's); give a local directory holding your copies, or leave the flag out`,
    );
  }
  for (const flag of ["owner-config", "filename"]) {
    const value = str(flags[flag]);
    if (value && /^https?:\/\//.test(value)) {
      throw new ProvisionOptionError(
        `--${flag} ${value}: scone reads local files only; download it first (e.g. curl -fsSLO ${value})`,
      );
    }
  }
  const timeout = str(flags.timeout);
  const timeoutProblem = timeout === undefined ? undefined : durationProblem("timeout", timeout);
  if (timeoutProblem) throw new ProvisionOptionError(timeoutProblem);
  refuseImageSignatureKey(str(flags["verify-image-signatures"]));
  const options: ProvisionOptions = {
    name: checked("CAS NAME", name, casName) as string,
    namespace: checked("--namespace", str(flags.namespace), namespaceName) ?? "default",
    mode: given[0] ?? "provision",
    target,
    version: checked("--set-version", str(flags["set-version"]), sconeVersion) ?? DEFAULT_SCONE_SERVICE_VERSION,
    backup,
    wait,
    timeoutSeconds: (timeout ? durationSeconds(timeout) : undefined) ?? 600,
    ...opt(
      "imageRepo",
      checked("--image-registry", str(flags["image-registry"]), imageRegistry, { normalize: normalizeRegistry }),
    ),
    ...opt("imagePrefix", checked("--image-prefix", str(flags["image-prefix"]), imagePrefixGrammar)),
    ...opt("imageOverwrite", checked("--image-overwrite", str(flags["image-overwrite"]), imageReference)),
    ...opt("nonce", checked("--nonce", str(flags.nonce)?.toLowerCase(), hex32)),
    ...opt("dcapKey", checked("--dcap-api", str(flags["dcap-api"]), hex32, { secret: true })),
    ...opt(
      "ownerConfigFile",
      str(flags["owner-config"]) && resolve(expandHome(str(flags["owner-config"]) as string, home)),
    ),
    ...opt("webhook", checked("--webhook", str(flags.webhook), httpUrl)),
    ...opt("patchFile", str(flags.filename)),
    ...opt("manifestsDir", manifestsDir),
    ...opt("casAddress", checked("--cas-address", str(flags["cas-address"]), serverAddress)),
    ...opt("casClientPort", port(flags["cas-client-port"], "cas-client-port")),
    ...opt("localCasClientPort", port(flags["local-cas-client-port"], "local-cas-client-port")),
    ...opt("postprovisionOwnerIdentity", str(flags["postprovision-owner-identity"])),
    ...opt("upgradeTo", checked("--upgrade", str(flags.upgrade), sconeVersion)),
    ...opt("recoveryDir", str(flags["cas-database-recovery"])),
    ...opt("verifiers", tolerations(str(flags["set-tolerations"]))),
  };
  return options;
}

/**
 * The value when valid by its grammar (after `normalize`), else a ProvisionOptionError naming the flag: every value
 * that reaches a manifest, an image reference or a session is checked here, before any step runs.
 */
function checked(
  flag: string,
  value: string | undefined,
  grammar: Grammar,
  opts: { readonly secret?: boolean; readonly normalize?: (v: string) => string } = {},
): string | undefined {
  if (value === undefined) return undefined;
  const problem = grammarProblem(flag, value, grammar, opts);
  if (problem) throw new ProvisionOptionError(problem);
  return opts.normalize ? opts.normalize(value) : value;
}

/**
 * A security flag is never accepted and ignored: scone verifies image signatures when it installs (scone operator
 * install checks every image of the version, src/images/signature), not when it provisions, so a key given here is
 * refused rather than letting the user believe this run checked the images.
 */
function refuseImageSignatureKey(value: string | undefined): void {
  if (value === undefined) return;
  throw new ProvisionOptionError(
    "--verify-image-signatures is refused here: scone verifies the images' signatures in 'scone operator install --verify-image-signatures KEY' (every image of the version, the CAS images included); leave the flag out, or check other images with cosign verify --key KEY IMAGE",
  );
}

function tolerations(value: string | undefined): VerifierSettings[] | undefined {
  if (value === undefined) return undefined;
  try {
    return verifiersWithTolerations(value);
  } catch (err) {
    if (err instanceof TolerationsError) throw new ProvisionOptionError(err.message);
    throw err;
  }
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
