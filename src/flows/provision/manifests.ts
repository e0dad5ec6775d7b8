// Where the upstream files come from: scone's embedded 6.0.6 copies, or `--manifests-dir DIR` (a local copy of
// scontain/manifests, e.g. a mirror in an air-gapped site): each file found there replaces the embedded one, so a site
// can pin its own versions without scone downloading anything.
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { fillValues } from "../../resources/envsubst.ts";
import { readIfExists } from "./files.ts";
import {
  BACKUP_POLICY_YAML,
  CAS_OWNER_YAML,
  CAS_PROVISIONING_YAML,
  type JsonPatchOp,
  POLICY_NAME,
  postProvisioningPatch,
} from "./templates.ts";

export interface Manifests {
  readonly casProvisioning: string;
  readonly backupPolicy: string;
  readonly casOwner: string;
  /** Texts of the JSON patches when read from a directory; undefined: the embedded operations. */
  readonly patchProbesAndBackup?: string;
  readonly patchProbes?: string;
  /** Files taken from the directory (for the report). */
  readonly fromDir: readonly string[];
}

export const EMBEDDED_MANIFESTS: Manifests = {
  casProvisioning: CAS_PROVISIONING_YAML,
  backupPolicy: BACKUP_POLICY_YAML,
  casOwner: CAS_OWNER_YAML,
  fromDir: [],
};

export async function loadManifests(dir: string | undefined): Promise<Manifests> {
  if (!dir) return EMBEDDED_MANIFESTS;
  const fromDir: string[] = [];
  const read = async (file: string): Promise<string | undefined> => {
    const text = await readIfExists(join(dir, file));
    if (text !== undefined) fromDir.push(file);
    return text;
  };
  const casProvisioning = (await read("cas_provisioning.yaml")) ?? CAS_PROVISIONING_YAML;
  const backupPolicy = (await read("backup_policy.yaml")) ?? BACKUP_POLICY_YAML;
  const casOwner = (await read("cas-owner.yaml")) ?? CAS_OWNER_YAML;
  const patchProbesAndBackup = await read("cas_patch_probes_and_backup.json");
  const patchProbes = await read("cas_patch_probes.json");
  return {
    casProvisioning,
    backupPolicy,
    casOwner,
    ...(patchProbesAndBackup !== undefined ? { patchProbesAndBackup } : {}),
    ...(patchProbes !== undefined ? { patchProbes } : {}),
    fromDir,
  };
}

/**
 * A JSON patch file's operations with upstream's envsubst variables (POLICY_NAME, IMAGE_REPO, IMAGE_PREFIX) filled in
 * after parsing, inside string values only. Upstream's files have trailing commas, which kubectl's YAML parser
 * accepts; YAML flow syntax accepts them too.
 */
export function parsePatchFile(
  text: string,
  source: string,
  vars: Readonly<Record<string, string>> = {},
): JsonPatchOp[] {
  let ops: unknown;
  try {
    ops = fillValues(parseYaml(text), vars);
  } catch (err) {
    throw new Error(`${source}: not a JSON patch (${err instanceof Error ? err.message : String(err)})`);
  }
  if (
    !Array.isArray(ops) ||
    ops.some(
      (op) =>
        typeof op !== "object" ||
        op === null ||
        (op.op !== "add" && op.op !== "replace") ||
        typeof op.path !== "string" ||
        !("value" in op),
    )
  ) {
    throw new Error(`${source}: expected a JSON patch: a list of {op: add|replace, path, value}`);
  }
  return ops as JsonPatchOp[];
}

export interface PatchChoice {
  readonly backup: boolean;
  readonly imageRepo: string;
  /** Upstream's IMAGE_PREFIX in the patch files (default none). */
  readonly imagePrefix?: string;
  readonly backupControllerImage: string;
}

/** The post-provisioning patch: from the directory's file when there is one, else upstream's operations. */
export function patchOf(m: Manifests, p: PatchChoice): JsonPatchOp[] {
  const file = p.backup ? m.patchProbesAndBackup : m.patchProbes;
  if (file === undefined) return postProvisioningPatch(p);
  const name = p.backup ? "cas_patch_probes_and_backup.json" : "cas_patch_probes.json";
  return parsePatchFile(file, `--manifests-dir ${name}`, {
    POLICY_NAME,
    IMAGE_REPO: p.imageRepo,
    IMAGE_PREFIX: p.imagePrefix ?? "",
  });
}
