// Every CAS interaction scone needs, with the public interface it goes through and how sure that is.
// `documented`: SCONE-CLI.md / SCONE-INTERFACE.md give it with a verified source. `inferred`: the call relies on a
// fact those notes mark [I]; `inferred` says which, and the code says so next to the call. `none`: no documented
// interface exists; scone does not guess — `decision` says what it does instead.
// sim/scone-cli/README.md carries the same table (rendered by renderInteractionTable; a unit test keeps them equal).
import type { OperationName } from "./commands.ts";

export type InteractionStatus = "documented" | "inferred" | "none";

export interface CasInteraction {
  readonly id: string;
  /** What scone needs it for. */
  readonly need: string;
  /** The call, as argv after the binary or as the other public interface (no backticks: rendered as code). */
  readonly how: string;
  /** The commands.ts operation(s) that build it; empty when the driver has no builder. */
  readonly operations: readonly OperationName[];
  readonly source: string;
  readonly status: InteractionStatus;
  /** For `inferred`: the [I] fact relied on. */
  readonly inferred?: string;
  /** For `none`: what scone does instead of guessing. */
  readonly decision?: string;
}

export const CAS_INTERACTIONS: readonly CasInteraction[] = [
  {
    id: "cli-version",
    need: "version gate of the PCS tolerance flags",
    how: "--version (last word)",
    operations: ["version"],
    source: "CLI §4 [crate: pub/version_gate.rs]",
    status: "documented",
  },
  {
    id: "provisioning-lines",
    need: "CAS key hash and provisioning token of an unprovisioned CAS",
    how: "log of container cas: the lines holding CAS key hash / CAS provisioning token, last field",
    operations: [],
    source: "SCONE-INTERFACE §10.2 step 7; CLI §4 [docs: CAS_production]",
    status: "documented",
  },
  {
    id: "attest",
    need: "attest a CAS before any session call; tolerations DB-injection signer, then standard signer",
    how: "cas attest <addr> [-c hash] --retries n <verifier flags>; cas set-default <addr>",
    operations: ["cas_attest", "cas_set_default"],
    source: "CLI §3/§4 [crate: pub/commands.rs]; SCONE-INTERFACE §10.1 (SGX_TOLERATIONS → SGX_STD_TOLERATIONS)",
    status: "documented",
  },
  {
    id: "provision",
    need: "make the owner identity the CAS owner",
    how: "cas provision <addr> -c hash --token t --config-file <toml> --retries n with-attestation <verifier flags>",
    operations: ["cas_provision", "cas_set_default"],
    source: "CLI §4 [crate: pub/commands.rs]; SCONE-INTERFACE §10.2 step 10 (kubectl-provision 6.0.5)",
    status: "documented",
  },
  {
    id: "cas-keys",
    need: "CAS key and software key after attestation (session calls name the CAS key)",
    how: "cas show-identification --cas-key <addr>; … --cas-software-key <addr> (failure = older CAS)",
    operations: ["cas_key", "cas_software_key"],
    source: "CLI §3 [crate: pub/cli.rs]",
    status: "inferred",
    inferred: "CLI §4: the flags are the crate's, absent from the 5.8.0 reference [I: newer CLI]",
  },
  {
    id: "owner-key-hash",
    need: "the owner's key hash (access policies, owner_id file)",
    how: "self show-key-hash",
    operations: ["key_hash"],
    source: "CLI §3 [crate: pub/cli.rs]; CLI §5 [docs: CAS_cli-intro]",
    status: "documented",
  },
  {
    id: "signing-key",
    need: "the owner's session signing key (`signer:` in policies)",
    how: "self show-session-signing-key (PEM SPKI, or base58 on older CLIs)",
    operations: ["session_signing_public_key"],
    source: "CLI §3 [crate: pub/cli.rs]; CLI §5 [docs: CAS_session_lang_0_3, S3_governance]",
    status: "documented",
  },
  {
    id: "session-check",
    need: "validate a policy before upload",
    how: "session check <file>",
    operations: ["validate_session"],
    source: "CLI §3 [crate: pub/cli.rs]; CLI §5 [docs: CAS_cli]",
    status: "documented",
  },
  {
    id: "session-hash",
    need: "the hash of a session body (never computed by scone)",
    how: "session calculate-hash <file>",
    operations: ["session_hash"],
    source: "CLI §3, §6 [docs: CAS_cli, CAS_session_lang_0_3]",
    status: "documented",
  },
  {
    id: "session-create",
    need: "upload a new policy (cas-owner, backup policy, SignedPolicy/EncryptedPolicy)",
    how: "session create --cas <addr> --cas-key <key> <file>; the printed hash is the stored session's",
    operations: ["create_session"],
    source: "CLI §3 [crate: pub/cli.rs]; CLI §5 [docs: CAS_cli] (create prints the new hash)",
    status: "inferred",
    inferred:
      "`--cas-key` is a newer-CLI flag [I]; the printed hash is read as the last line, 64 hex [I] (the crate ignores it and recomputes, which CLI §5 shows can name another body)",
  },
  {
    id: "session-update",
    need: "change a policy; `predecessor` = active hash (filled by the CLI when missing)",
    how: "session update --cas <addr> --cas-key <key> <file>",
    operations: ["update_session"],
    source: "CLI §3 [crate: pub/cli.rs]; SCONE-INTERFACE §12.3",
    status: "inferred",
    inferred: "as session-create",
  },
  {
    id: "session-read",
    need: "read a policy (or one version of it by hash)",
    how: "session read --cas <addr> --cas-key <key> [--session-hash h] <name>; exit 2 = not found",
    operations: ["read_session"],
    source: "CLI §3 [crate: pub/cli.rs, pub/commands/tests.rs]",
    status: "inferred",
    inferred:
      "`--cas-key`/`--session-hash` are newer-CLI flags [I]; exit 2 is also clap's usage-error code [I], so argv is checked by grammar before the call",
  },
  {
    id: "session-list",
    need: "list policies under a namespace",
    how: "session list --cas <addr> --cas-key <key> <path>",
    operations: ["list_sessions"],
    source: "CLI §3 [crate: pub/cli.rs]; release notes 5.10 (listing endpoint)",
    status: "inferred",
    inferred: "`session list` is absent from the 5.8.0 reference [I: newer CLI]",
  },
  {
    id: "session-sign-encrypt",
    need: "SignedPolicy / EncryptedPolicy bodies",
    how: "session sign <file>; session encrypt <file> [--cas <addr>]",
    operations: ["sign_session", "encrypt_session"],
    source: "CLI §3, §6 [crate: pub/cli.rs; docs: CAS_cli]",
    status: "documented",
  },
  {
    id: "audit-verify",
    need: "verify a CAS audit log; the exit code is the verdict",
    how: "cas verify-audit-log|attest-audit-log [--cas c] [--cas-key-hash k] [--predecessor p] [--last l] [--checkpoints-json f] [-p] <log>",
    operations: ["verify_audit_log"],
    source: "CLI §4, §5 [crate: pub/commands.rs; docs: auditLog, CAS_cli]",
    status: "inferred",
    inferred:
      "`--checkpoints-json` is a newer-CLI flag [I]; the signature encoding of --predecessor/--last is not published [I]",
  },
  {
    id: "audit-checkpoints",
    need: "checkpoints for offline audit-log verification",
    how: "cas get-audit-log-checkpoints [--cas c] [--min-sequence-number n] [--max-sequence-number n]",
    operations: ["audit_log_checkpoints"],
    source: "CLI §3 [crate: pub/cli.rs]; release notes 5.9",
    status: "documented",
  },
  {
    id: "session-encryption-key",
    need: "CAS_SESSION_ENCRYPTION_KEY / CAS_CERT (print-public-keys, EncryptedPolicy)",
    how: "cas show-identification --session-encryption-key | -C | -S | -T",
    operations: [],
    source: "CLI §4, §5 [docs: CAS_cli 5.8.0]",
    status: "inferred",
    inferred:
      "the flags are documented but not how they combine with the crate's `<addr>` operand [I]; no builder until confirmed",
  },
  {
    id: "backup-registration",
    need: "which nodes CAS registered for backup (relocation, drain safety)",
    how: 'node label cas-registered-<cas>.<namespace>-<version>="true", set by the backup controller',
    operations: [],
    source: "SCONE-STACK.md (a provider's guide, moving CAS; SCONE-INTERFACE §13 found no scontain source)",
    status: "documented",
  },
  {
    id: "register-backup",
    need: "register a node's backup CAS",
    how: "cas register-backup <addr> (run by the backup controller inside its attested CLI)",
    operations: [],
    source: "SCONE-INTERFACE §10.2, §12.5 [V: CAS_cli, cas-backup-controller]",
    status: "documented",
  },
  {
    id: "public-values",
    need: "public secret values of a session (scone vault provision --print-public-keys: VAULT_CA)",
    how: "GET /v1/values/session=<name> on the client port (port-forward), no identity; TLS pinned to the chain of the CLI config's cas_db entry",
    operations: [],
    source:
      "SCONE-INTERFACE §12.1 [V: sconedocs flask/node examples, kubectl-provision 6.0.0], §10.5; CLI §7 (cas_db chain) [docs: cas-backup-controller]",
    status: "documented",
  },
  {
    id: "cas-health",
    need: "is the CAS up, provisioned, snapshotting",
    how: "no CLI command or REST path is documented for health or provisioning state",
    operations: [],
    source: "SCONE-INTERFACE §14 (not found)",
    status: "none",
    decision:
      "scone reads the operator's CAS status and pod readiness; where those cannot tell, status says it cannot know (no probe of an undocumented endpoint)",
  },
  {
    id: "owner-config-update",
    need: "change the owner config (e.g. audit-log sink) after provisioning",
    how: "no documented CLI command or REST path",
    operations: [],
    source: "SCONE-INTERFACE §12.2 (refers to an unpublished API documentation)",
    status: "none",
    decision: "scone refuses the change and says only a new provisioning sets the owner config",
  },
  {
    id: "session-rest",
    need: "session create/update over REST without the CLI",
    how: "POST /v1/sessions — path, verb and answer unpublished",
    operations: [],
    source: "SCONE-INTERFACE §12.1 [I]",
    status: "none",
    decision: "scone never calls it; sessions go through the CLI (session-create/-update)",
  },
];

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The table as markdown (sim/scone-cli/README.md embeds exactly this). */
export function renderInteractionTable(rows: readonly CasInteraction[] = CAS_INTERACTIONS): string {
  const lines = [
    "| Interaction | Need | How | Source | Status |",
    "|---|---|---|---|---|",
    ...rows.map((r) => {
      const status =
        r.status === "inferred"
          ? `inferred: ${r.inferred}`
          : r.status === "none"
            ? `none: ${r.decision}`
            : "documented";
      return `| ${r.id} | ${cell(r.need)} | \`${cell(r.how)}\` | ${cell(r.source)} | ${cell(status)} |`;
    }),
  ];
  return `${lines.join("\n")}\n`;
}
