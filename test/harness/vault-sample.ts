// The upstream Vault sample with its $VARS filled, shared by the unit and integration tests.
import { parse } from "yaml";
import type { Vault } from "../../src/resources/vault.ts";
import { sharedPath } from "./shared.ts";

const SAMPLE = sharedPath("reference", "upstream-samples", "operator-samples", "5.8.0-rc.1_vault.yaml");
export const VAULT_VARS: Record<string, string> = {
  VAULT_NAME: "vault",
  NAMESPACE: "vault-ns",
  VAULT_IMAGE_REPO: "registry.scontain.com/scone.cloud/vault",
  VAULT_IMAGE_TAG: "5.8.0",
  SCONE_CAS_ADDR: "cas.scone-system",
  OWNER_ID: "1234567890",
};

/** The upstream sample with its $VARS filled (longest names first: $VAULT_NAME before $VAULT_...). */
export async function sampleVault(vars = VAULT_VARS): Promise<Vault> {
  let text = await Bun.file(SAMPLE).text();
  for (const k of Object.keys(vars).sort((a, b) => b.length - a.length)) text = text.replaceAll(`$${k}`, vars[k] ?? "");
  const v = parse(text) as Vault;
  return { ...v, metadata: { ...v.metadata, uid: "u-vault", generation: 1 } };
}
