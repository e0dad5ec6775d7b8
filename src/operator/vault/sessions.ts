// The CAS sessions `scone vault provision` uploads before it creates the Vault, and the Vault manifest (pure).
//
// INFERRED [I]: upstream uploads vault-image-mrenclaves.yaml, vault-policy.yaml and vault-verify-policy.yaml from
// scontain/manifests (removed in May 2025; their text is not in our references). What is verified is only what the
// Vault template and the plugin reveal (SCONE-INTERFACE §7, §10.5): the vault reads its configuration from sessions
// `vault-<OWNER_ID>/dev`, `vault-init-auto-<OWNER_ID>/dev` and `vault-init-parent-<OWNER_ID>/dev`, and
// `--print-public-keys` reads the public secret VAULT_CA of `vault-init-auto-<OWNER_ID>`. The session bodies below
// are plausible reconstructions in CAS session language 0.3.10: one session per name, the MRENCLAVEs of the vault
// images in a session of their own, access for the uploader (CREATOR) only.

/** MRENCLAVEs of the vault images: placeholders until the real image measurements are configured [I]. */
export const DEFAULT_VAULT_MRENCLAVES: readonly string[] = [
  "0000000000000000000000000000000000000000000000000000000000000000",
];

export interface VaultSessionInput {
  readonly ownerId: string;
  readonly vaultName: string;
  readonly namespace: string;
  /** MRENCLAVEs of the vault and vault-init images. */
  readonly mrenclaves: readonly string[];
}

export interface NamedSession {
  readonly name: string;
  /** What upstream file it stands for. */
  readonly source: string;
  readonly text: string;
}

export const vaultSessionNames = (ownerId: string) => ({
  mrenclaves: `vault-image-mrenclaves-${ownerId}`,
  vault: `vault-${ownerId}`,
  initAuto: `vault-init-auto-${ownerId}`,
  initParent: `vault-init-parent-${ownerId}`,
  verifier: `vault-verifier-${ownerId}`,
});

const CREATOR_ONLY = `access_policy:
  read:
    - CREATOR
  update:
    - CREATOR
`;

const TOLERATE = `security:
  attestation:
    tolerate: [outdated-tcb, software-hardening-needed, insecure-configuration, insecure-igpu, aepic-leak]
    ignore_advisories: "*"
`;

const attestation = (mrenclaves: readonly string[]) =>
  `    attestation:\n      mrenclave:\n${mrenclaves.map((m) => `        - ${m}`).join("\n")}\n`;

/** The sessions in upload order (the ones others name come first). */
export function vaultSessions(input: VaultSessionInput): NamedSession[] {
  const n = vaultSessionNames(input.ownerId);
  const addr = `https://${input.vaultName}.${input.namespace}.svc:8200`;
  const service = (extraEnv: string) => `services:
  - name: dev
    image_name: vault
${attestation(input.mrenclaves)}    command: vault server -config=/etc/vault/config.hcl
    environment:
      VAULT_ADDR: "${addr}"
${extraEnv}    pwd: /
`;
  return [
    {
      name: n.mrenclaves,
      source: "vault-image-mrenclaves.yaml",
      text: `name: ${n.mrenclaves}
version: "0.3.10"
# [I] reconstructed: the MRENCLAVEs of the vault images, for the sessions below and for audits.
secrets:
${input.mrenclaves.map((m, i) => `  - name: VAULT_MRENCLAVE_${i}\n    kind: ascii\n    value: "${m}"\n    export_public: true`).join("\n")}
${CREATOR_ONLY}`,
    },
    {
      name: n.initParent,
      source: "vault-policy.yaml",
      text: `name: ${n.initParent}
version: "0.3.10"
# [I] reconstructed: vault-init registers the vault with its parent session.
${service('      VAULT_INIT_ROLE: "register"\n')}${CREATOR_ONLY}${TOLERATE}`,
    },
    {
      name: n.initAuto,
      source: "vault-policy.yaml",
      text: `name: ${n.initAuto}
version: "0.3.10"
# [I] reconstructed: vault-init initialises and unseals vault; its CA is public (kubectl provision --print-public-keys).
${service('      VAULT_INIT_ROLE: "auto-provision"\n      VAULT_CA: "$$SCONE::VAULT_CA.crt$$"\n')}secrets:
  - name: VAULT_CA
    kind: x509-ca
    export_public: true
  - name: VAULT_UNSEAL_KEY
    kind: ascii
    size: 44
${CREATOR_ONLY}${TOLERATE}`,
    },
    {
      name: n.vault,
      source: "vault-policy.yaml",
      text: `name: ${n.vault}
version: "0.3.10"
# [I] reconstructed: the vault server itself.
${service(`      VAULT_CLUSTER_ADDR: "https://${input.vaultName}.${input.namespace}.svc:8201"\n`)}${CREATOR_ONLY}${TOLERATE}`,
    },
    {
      name: n.verifier,
      source: "vault-verify-policy.yaml",
      text: `name: ${n.verifier}
version: "0.3.10"
# [I] reconstructed: the verifier pod (kubectl provision vault --verify) decrypts status.initStatement.
services:
  - name: verify
    image_name: vault-verifier
${attestation(input.mrenclaves)}    command: vault-verify
    pwd: /
${CREATOR_ONLY}${TOLERATE}`,
    },
  ];
}

export interface VaultManifestInput {
  readonly vaultName: string;
  readonly namespace: string;
  readonly imageRepo: string;
  readonly imageTag: string;
  /** In-cluster address of the CAS, e.g. `cas.scone-system` (upstream SCONE_CAS_ADDR). */
  readonly casAddress: string;
  readonly ownerId: string;
}

/** Upstream's templates/vault.yaml (SCONE-INTERFACE §7) as an object, its variables filled. */
export function vaultManifest(v: VaultManifestInput): Record<string, unknown> {
  return {
    apiVersion: "services.scone.cloud/v1beta1",
    kind: "Vault",
    metadata: { name: v.vaultName, namespace: v.namespace },
    spec: {
      server: {
        dev: { enabled: false },
        dataStorage: { enabled: true },
        image: { repository: v.imageRepo, tag: v.imageTag, pullPolicy: "Always" },
        postStart: ["/bin/bash", "-c", "/usr/local/bin/provision-vault.sh && /usr/local/bin/bootstrap-vault.sh"],
        resources: { limits: { "sgx.intel.com/enclave": "1", memory: "12G" }, requests: { memory: "10G" } },
        extraEnvironmentVars: {
          SCONE_HEAP: "8G",
          SCONE_CAS_ADDR: v.casAddress,
          SCONE_LAS_ADDR: "$(HOST_IP)",
          VAULT_ADDR: `https://${v.vaultName}.${v.namespace}.svc:8200`,
          VAULT_CLUSTER_ADDR: `https://${v.vaultName}.${v.namespace}.svc:8201`,
          OWNER_ID: v.ownerId,
          SCONE_CONFIG_ID: "vault-$(OWNER_ID)/dev",
          VAULTINIT_AUTO_PROVISIONING_CONFIG_ID: "vault-init-auto-$(OWNER_ID)/dev",
          VAULTINIT_REGISTER_CONFIG_ID: "vault-init-parent-$(OWNER_ID)/dev",
          SCONE_VERSION: "1",
        },
        readinessProbe: { enabled: false },
      },
      injector: { enabled: false },
      global: { imagePullSecrets: [{ name: "sconeapps" }] },
    },
  };
}

/** Fills `$VAR` / `${VAR}` in a user's manifest (`-f`), like upstream's envsubst; `$(VAR)` stays for Kubernetes. */
export function substituteVariables(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced, bare) => {
    const name = (braced ?? bare) as string;
    return name in vars ? (vars[name] as string) : whole;
  });
}

/** Upstream OWNER_ID=$RANDOM$RANDOM: two numbers 0..32767, concatenated. */
export function newOwnerId(random: () => number = () => crypto.getRandomValues(new Uint16Array(1))[0] ?? 0): string {
  return `${random() & 0x7fff}${random() & 0x7fff}`;
}

export interface CasReadiness {
  readonly provisioned?: string;
  readonly phase?: string;
  readonly state?: string;
  readonly migrationNodeAlert?: number;
}

/** Why the CAS cannot carry a vault yet (upstream: provisioned, HEALTHY, fully migratable), or undefined. */
export function casNotReadyReason(cas: string, s: CasReadiness | undefined): string | undefined {
  if (!s) return `CAS ${cas} has no status yet: wait until its operator reports it`;
  if (s.provisioned !== "Yes")
    return `CAS ${cas} is not provisioned (provisioned=${s.provisioned ?? "unknown"}): run 'scone cas provision' first`;
  if (s.phase !== "HEALTHY" || s.state !== "HEALTHY")
    return `CAS ${cas} is not HEALTHY (state=${s.state ?? "unknown"}, phase=${s.phase ?? "unknown"}): wait or check 'kubectl describe cas'`;
  if ((s.migrationNodeAlert ?? 0) !== 0)
    return `CAS ${cas} is not fully migratable (migrationNodeAlert=${s.migrationNodeAlert}): wait until every node registered a backup`;
  return undefined;
}
