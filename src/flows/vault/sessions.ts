// The CAS sessions `scone vault provision` uploads before it creates the Vault, and the Vault manifest (pure).
//
// INFERRED [I]: upstream uploads vault-image-mrenclaves.yaml, vault-policy.yaml and vault-verify-policy.yaml from
// scontain/manifests (removed in May 2025; their text is not in our references). What is verified is only what the
// Vault template and the plugin reveal (SCONE-INTERFACE §7, §10.5): the vault reads its configuration from sessions
// `vault-<OWNER_ID>/dev`, `vault-init-auto-<OWNER_ID>/dev` and `vault-init-parent-<OWNER_ID>/dev`, and
// `--print-public-keys` reads the public secret VAULT_CA of `vault-init-auto-<OWNER_ID>`. The session bodies below
// are plausible reconstructions in CAS session language 0.3.10: one session per name, the MRENCLAVEs of the vault
// images in a session of their own, access for the uploader (CREATOR) only.

import { Document, parse } from "yaml";
import { fillValues } from "../../resources/envsubst.ts";
import { dnsLabel, grammarProblem, namespaceName, shown } from "../../resources/grammar.ts";

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

const CREATOR_ONLY = { access_policy: { read: ["CREATOR"], update: ["CREATOR"] } };

const TOLERATE = {
  security: {
    attestation: {
      tolerate: ["outdated-tcb", "software-hardening-needed", "insecure-configuration", "insecure-igpu", "aepic-leak"],
      ignore_advisories: "*",
    },
  },
};

/** A session as text: built as an object, serialized once (no input is pasted into YAML), with a leading comment. */
function sessionText(comment: string, session: Record<string, unknown>): string {
  const doc = new Document(session);
  doc.commentBefore = ` ${comment}`;
  return doc.toString({ lineWidth: 0 });
}

/** The inputs reach session texts and URLs: each must be what its name says (refused otherwise, naming it). */
function checkInput(input: VaultSessionInput): void {
  const problem =
    grammarProblem("vault NAME", input.vaultName, dnsLabel()) ??
    grammarProblem("--namespace", input.namespace, namespaceName) ??
    (/^\d{1,12}$/.test(input.ownerId) ? undefined : `invalid OWNER_ID ${shown(input.ownerId)}: expected digits`) ??
    input.mrenclaves
      .map((m) =>
        /^[0-9a-f]{64}$/.test(m) ? undefined : `invalid MRENCLAVE ${shown(m)}: expected 64 lower-case hex digits`,
      )
      .find((p) => p !== undefined);
  if (problem) throw new Error(problem);
}

/** The sessions in upload order (the ones others name come first). */
export function vaultSessions(input: VaultSessionInput): NamedSession[] {
  checkInput(input);
  const n = vaultSessionNames(input.ownerId);
  const addr = `https://${input.vaultName}.${input.namespace}.svc:8200`;
  const attestation = { mrenclave: [...input.mrenclaves] };
  const service = (extraEnv: Record<string, string>) => ({
    services: [
      {
        name: "dev",
        image_name: "vault",
        attestation,
        command: "vault server -config=/etc/vault/config.hcl",
        environment: { VAULT_ADDR: addr, ...extraEnv },
        pwd: "/",
      },
    ],
  });
  const session = (name: string) => ({ name, version: "0.3.10" });
  return [
    {
      name: n.mrenclaves,
      source: "vault-image-mrenclaves.yaml",
      text: sessionText(
        "[I] reconstructed: the MRENCLAVEs of the vault images, for the sessions below and for audits.",
        {
          ...session(n.mrenclaves),
          secrets: input.mrenclaves.map((m, i) => ({
            name: `VAULT_MRENCLAVE_${i}`,
            kind: "ascii",
            value: m,
            export_public: true,
          })),
          ...CREATOR_ONLY,
        },
      ),
    },
    {
      name: n.initParent,
      source: "vault-policy.yaml",
      text: sessionText("[I] reconstructed: vault-init registers the vault with its parent session.", {
        ...session(n.initParent),
        ...service({ VAULT_INIT_ROLE: "register" }),
        ...CREATOR_ONLY,
        ...TOLERATE,
      }),
    },
    {
      name: n.initAuto,
      source: "vault-policy.yaml",
      text: sessionText(
        "[I] reconstructed: vault-init initialises and unseals vault; its CA is public (kubectl provision --print-public-keys).",
        {
          ...session(n.initAuto),
          ...service({ VAULT_INIT_ROLE: "auto-provision", VAULT_CA: "$$SCONE::VAULT_CA.crt$$" }),
          secrets: [
            { name: "VAULT_CA", kind: "x509-ca", export_public: true },
            { name: "VAULT_UNSEAL_KEY", kind: "ascii", size: 44 },
          ],
          ...CREATOR_ONLY,
          ...TOLERATE,
        },
      ),
    },
    {
      name: n.vault,
      source: "vault-policy.yaml",
      text: sessionText("[I] reconstructed: the vault server itself.", {
        ...session(n.vault),
        ...service({ VAULT_CLUSTER_ADDR: `https://${input.vaultName}.${input.namespace}.svc:8201` }),
        ...CREATOR_ONLY,
        ...TOLERATE,
      }),
    },
    {
      name: n.verifier,
      source: "vault-verify-policy.yaml",
      text: sessionText(
        "[I] reconstructed: the verifier pod (kubectl provision vault --verify) decrypts status.initStatement.",
        {
          ...session(n.verifier),
          services: [{ name: "verify", image_name: "vault-verifier", attestation, command: "vault-verify", pwd: "/" }],
          ...CREATOR_ONLY,
          ...TOLERATE,
        },
      ),
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

/**
 * A user's manifest (`-f`) with `$VAR` / `${VAR}` filled in like upstream's envsubst, but inside string values of the
 * parsed manifest only (a value cannot add keys); `$(VAR)` stays for Kubernetes.
 */
export function manifestWithVariables(text: string, vars: Readonly<Record<string, string>>): Record<string, unknown> {
  const doc = parse(text) as unknown;
  if (doc === null || typeof doc !== "object" || Array.isArray(doc))
    throw new Error("-f: expected one YAML mapping (a Vault manifest)");
  return fillValues(doc, vars) as Record<string, unknown>;
}

export { substitute as substituteVariables } from "../../resources/envsubst.ts";

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
