// The files under `$TARGET_DIR` (default ~/.cas), named as upstream names them (SCONE-INTERFACE §10.3), and the one
// way scone writes them: directories 0700, files 0600 (they hold owner keys and sessions with keys), atomically.
import { chmod, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { writePrivateFile } from "../../runtime/private-file.ts";

export interface TargetFiles {
  readonly dir: string;
  readonly identityDir: string;
  readonly ownerConfigDir: string;
  /** The owner's CLI config (`SCONE_CLI_CONFIG`): identity key + certificate, cas_db, signing seed. */
  readonly cliConfig: string;
  readonly baseOwnerIdentity: string;
  readonly ownerIdentity: string;
  readonly casOwnerSession: string;
  readonly backupControllerSession: string;
  readonly provisionedSession: string;
  readonly ownerConfig: string;
  readonly provisioningStep: string;
  readonly patch: string;
  readonly manifest: string;
  /** scone's progress journal of this CAS's provisioning (no secrets). */
  readonly journal: string;
}

export function targetFiles(target: string, p: { name: string; namespace: string; version: string }): TargetFiles {
  const identityDir = join(target, "identity");
  const ownerConfigDir = join(target, "owner-config");
  const prefix = join(ownerConfigDir, `cas-${p.namespace}-${p.name}-${p.version}`);
  return {
    dir: target,
    identityDir,
    ownerConfigDir,
    cliConfig: join(identityDir, "config.json"),
    baseOwnerIdentity: join(identityDir, "base-owner-identity.json"),
    // upstream: owner_id_<svc>_<ns>.json, the Service being named like the CAS
    ownerIdentity: join(identityDir, `owner_id_${p.name}_${p.namespace}.json`),
    casOwnerSession: join(identityDir, `cas-owner-session-${p.name}-${p.namespace}.yaml`),
    backupControllerSession: join(identityDir, "backup-controller-session-cas-owner_primary-backup.yaml"),
    provisionedSession: join(identityDir, "provisioned.yaml"),
    ownerConfig: join(ownerConfigDir, "config.toml"),
    provisioningStep: `${prefix}-provisioning-step.yaml`,
    patch: `${prefix}-patch.json`,
    manifest: `${prefix}-manifest.yaml`,
    journal: join(target, "journal", `provision-${p.namespace}-${p.name}.json`),
  };
}

/** Writes `text` atomically with mode 0600 through an exclusive temp file, creating missing directories 0700. */
export { writePrivateFile };

/** The file's text, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Writes only when the content differs (a rerun leaves files and their times alone). Returns whether it wrote. */
export async function writePrivateFileIfChanged(path: string, text: string): Promise<boolean> {
  if ((await readIfExists(path)) === text) {
    await chmod(path, 0o600);
    return false;
  }
  await writePrivateFile(path, text);
  return true;
}

/**
 * The owner's CLI config as scone reads it: only what upstream's plugin reads with jq (§10.2 step 11) — `identity`,
 * `session_signing_keypair_ed25519_seed` and `cas_db` entries, kept opaque (the CLI owns the format, CLI §7).
 */
export interface OwnerCliConfig {
  readonly identity: string;
  readonly seed: string | undefined;
  readonly casDb: Readonly<Record<string, unknown>>;
}

/** The CLI config at `path`, or undefined when there is none; a file that is not one is an error naming it. */
export async function readOwnerConfig(path: string): Promise<OwnerCliConfig | undefined> {
  const text = await readIfExists(path);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`owner identity ${path}: not JSON (expected the SCONE CLI's config.json)`);
  }
  const doc = (typeof value === "object" && value !== null && !Array.isArray(value) ? value : {}) as Record<
    string,
    unknown
  >;
  if (typeof doc.identity !== "string" || doc.identity === "") {
    throw new Error(`owner identity ${path}: no "identity" (expected the SCONE CLI's config.json)`);
  }
  const casDb = doc.cas_db;
  return {
    identity: doc.identity,
    seed:
      typeof doc.session_signing_keypair_ed25519_seed === "string"
        ? doc.session_signing_keypair_ed25519_seed
        : undefined,
    casDb:
      typeof casDb === "object" && casDb !== null && !Array.isArray(casDb) ? (casDb as Record<string, unknown>) : {},
  };
}

/**
 * Files the SCONE CLI writes itself (its config) get the modes scone gives its own: 0600 in a 0700 directory.
 * A path that does not exist here (a config inside a CLI pod) is left alone.
 */
export async function securePrivateFile(path: string): Promise<void> {
  if ((await readIfExists(path)) === undefined) return;
  await chmod(dirname(path), 0o700);
  await chmod(path, 0o600);
}
