// A target directory as upstream's kubectl-provision leaves it (SCONE-INTERFACE §10.2 steps 9–12, file list §10.3),
// written the way upstream writes it: the SCONE CLI (a stand-in here, as upstream's sconecli container runs the CLI)
// creates identity/config.json while provisioning; jq derives owner_id_<svc>_<ns>.json, the CLI attests with it and
// jq renames its cas_db key; envsubst pastes the sessions, which `scone session create` uploads. Shared by the unit
// and the cluster test of "continue an upstream-provisioned CAS with scone".
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UPSTREAM_TOLERATIONS, verifierFlags } from "../../src/cas/driver/commands.ts";
import {
  BACKUP_POLICY_YAML,
  CAS_OWNER_YAML,
  type JsonPatchOp,
  PROVISIONED_YAML,
} from "../../src/flows/provision/templates.ts";

export interface UpstreamRun {
  readonly target: string;
  readonly name: string;
  readonly namespace: string;
  readonly version: string;
  /** Where upstream's CLI reaches the CAS (its port-forward). */
  readonly address: string;
  readonly clientPort: number;
  readonly casKeyHash: string;
  readonly token: string;
  /** Runs upstream's CLI with SCONE_CLI_CONFIG=config; stdout, or throws. */
  cli(config: string, argv: string[]): Promise<string>;
}

/** The files upstream's plugin leaves under $TARGET_DIR for one CAS (SCONE-INTERFACE §10.3). */
export function upstreamFiles(r: Pick<UpstreamRun, "name" | "namespace" | "version">): string[] {
  const { name, namespace: ns, version } = r;
  return [
    "identity/config.json",
    "identity/base-owner-identity.json",
    `identity/owner_id_${name}_${ns}.json`,
    `identity/cas-owner-session-${name}-${ns}.yaml`,
    "identity/backup-controller-session-cas-owner_primary-backup.yaml",
    "identity/provisioned.yaml",
    "identity/session.tmp",
    "owner-config/config.toml",
    `owner-config/cas-${ns}-${name}-${version}-provisioning-step.yaml`,
    `owner-config/cas-${ns}-${name}-${version}-patch.json`,
    `owner-config/cas-${ns}-${name}-${version}-manifest.yaml`,
    ".forward-pid",
  ].sort();
}

/** As upstream's shell leaves them: 0600 files (umask 077 in its container), 0700 directories. */
export function writeUpstream(path: string, text: string): void {
  mkdirSync(join(path, ".."), { recursive: true, mode: 0o700 });
  writeFileSync(path, text, { mode: 0o600 });
}

/**
 * Steps 9–11: owner config, provisioning by the CLI, owner identity files, the three sessions. Returns the CAS key
 * the CLI reports (`cas show-identification --cas-key`, what session commands name).
 */
export async function provisionAsUpstream(r: UpstreamRun): Promise<string> {
  const id = (f: string) => join(r.target, "identity", f);
  const ownerConfig = join(r.target, "owner-config", "config.toml");
  const tolerations = verifierFlags(UPSTREAM_TOLERATIONS);
  writeUpstream(
    ownerConfig,
    `enclave_reconnect_timeout = "24h"\n[api_identity]\ncommon_name = "${r.name}"\nalt_names = ["${r.name}-0", "localhost"]\n\n[dcap]\nsubscription_key = "${"0".repeat(32)}"\n\n[audit_log]\nmode = "signed"\nsink = "file"\n\n`,
  );
  await r.cli(id("config.json"), [
    ...["cas", "provision", r.address, "-c", r.casKeyHash, "--token", r.token, "--config-file", ownerConfig],
    ...["with-attestation", ...tolerations],
  ]);

  const casKey = (await r.cli(id("config.json"), ["cas", "show-identification", "--cas-key", r.address])).trim();
  const config = JSON.parse(readFileSync(id("config.json"), "utf8")) as Record<string, unknown>;
  const derived = {
    identity: config.identity,
    cas_db: {},
    session_signing_keypair_ed25519_seed: config.session_signing_keypair_ed25519_seed,
  };
  writeUpstream(id("base-owner-identity.json"), `${JSON.stringify(derived, null, 2)}\n`);
  const ownerId = id(`owner_id_${r.name}_${r.namespace}.json`);
  writeUpstream(ownerId, `${JSON.stringify(derived, null, 2)}\n`);
  await r.cli(ownerId, ["cas", "attest", r.address, "-c", r.casKeyHash, ...tolerations]);
  const attested = JSON.parse(readFileSync(ownerId, "utf8")) as { cas_db: Record<string, unknown> };
  attested.cas_db = { [`${r.name}.${r.namespace}:${r.clientPort}`]: attested.cas_db[r.address] };
  writeUpstream(ownerId, `${JSON.stringify(attested, null, 2)}\n`);

  const identityText = readFileSync(ownerId, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => `          ${l}`)
    .join("\n");
  const backupPolicy = BACKUP_POLICY_YAML.replaceAll("$POLICY_NAME", "cas-owner/primary-backup").replace(
    "$OWNER_IDENTITY",
    identityText,
  );
  const sessions: [string, string][] = [
    [id(`cas-owner-session-${r.name}-${r.namespace}.yaml`), CAS_OWNER_YAML],
    [id("backup-controller-session-cas-owner_primary-backup.yaml"), backupPolicy],
    [id("provisioned.yaml"), PROVISIONED_YAML],
  ];
  for (const [file, text] of sessions) {
    writeUpstream(file, text);
    writeUpstream(id("session.tmp"), text);
    await r.cli(id("config.json"), ["session", "create", "--cas", r.address, "--cas-key", casKey, file]);
  }
  return casKey;
}

/** Step 12's JSON patch, as the CAS spec carries it after `kubectl patch` (upstream's webhook defaults filled in). */
export function patchedSpec(spec: Record<string, unknown>, patch: readonly JsonPatchOp[]): Record<string, unknown> {
  const out = structuredClone(spec);
  for (const op of patch) {
    const keys = op.path.split("/").slice(1);
    const last = keys.pop() as string;
    let at: Record<string, unknown> = { spec: out };
    for (const k of keys) {
      at[k] ??= {};
      at = at[k] as Record<string, unknown>;
    }
    at[last] = op.value;
  }
  return out;
}

/** Step 4 and 12's copies under owner-config, and the port-forward's pid file. */
export function writeUpstreamCopies(
  r: Pick<UpstreamRun, "target" | "name" | "namespace" | "version">,
  copies: { provisioningStep: string; patch: readonly JsonPatchOp[]; manifest: string },
): void {
  const prefix = join(r.target, "owner-config", `cas-${r.namespace}-${r.name}-${r.version}`);
  writeUpstream(`${prefix}-provisioning-step.yaml`, copies.provisioningStep);
  writeUpstream(`${prefix}-patch.json`, JSON.stringify(copies.patch));
  writeUpstream(`${prefix}-manifest.yaml`, copies.manifest);
  writeUpstream(join(r.target, ".forward-pid"), "4711\n");
}
