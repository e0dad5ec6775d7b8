// Every CAS interaction scone makes, in the operator, the CLI and the API, with the public interface it goes through
// and how sure that is:
// - `documented`: SCONE-CLI.md / SCONE-INTERFACE.md / SCONE-STACK.md give it with a verified public source. When the
//   argv is the crate's (scontain's public client, [crate: …]) but the 5.8.0 reference lacks the flag, only *which
//   CLI version has it* is inferred: `cliVersion` says so (CLI §4 "[I: newer CLI]"); the driver gates by version
//   where the crate does (CLI §4 version gate).
// - `inferred`: a real guess about the protocol (an unpublished format, path or encoding); `inferred` says which.
//   No production path may make such a call: for CasDriver operations test/unit/cas/driver/table-production.test.ts
//   derives it from the source; a row that is still made from src/ lists its `callers` and must say in `open` what
//   replaces it, or in `noVerdict` which documented row decides instead and why it is still made.
// - `none`: no documented interface exists; scone does not guess — `decision` says what it does instead.
// sim/scone-cli/README.md and sim/README.md carry the same table (renderInteractionTable; a unit test keeps them equal).

import type { OperationName } from "./commands.ts";
import { type CasDriverMethod, DRIVER_OPERATIONS } from "./driver.ts";

export type InteractionStatus = "documented" | "inferred" | "none";

export interface CasInteraction {
  readonly id: string;
  /** What scone needs it for. */
  readonly need: string;
  /** The call, as argv after the binary or as the other public interface (no backticks: rendered as code). */
  readonly how: string;
  /** The commands.ts operation(s) that build it (CasDriver calls); empty when it does not go through the driver. */
  readonly operations: readonly OperationName[];
  /** Outside the driver: the src/ files that make it (a test checks they exist). */
  readonly callers?: readonly string[];
  /**
   * scone's own protocol code the row relies on (the old REST client, its audit/crypto/session modules): a test
   * checks that no src/ file outside src/cas imports one unless a row naming it lists that file as a caller.
   */
  readonly modules?: readonly string[];
  readonly source: string;
  readonly status: InteractionStatus;
  /** For `documented`: what about the CLI version is [I] (the argv itself is the crate's). */
  readonly cliVersion?: string;
  /** A caveat of a documented interface and how scone keeps it from turning into a guess. */
  readonly note?: string;
  /** For `inferred`: the [I] fact relied on. */
  readonly inferred?: string;
  /** For `none`: what scone does instead of guessing. */
  readonly decision?: string;
  /** An `inferred` row that src/ still makes (`callers`): what replaces it, and where. */
  readonly open?: string;
  /**
   * An `inferred` row that src/ still makes (`callers`) where no decision rests on it: which documented row gives the
   * decision instead, and what the inferred one is still used for (e.g. an index for search).
   */
  readonly noVerdict?: string;
}

export const CAS_INTERACTIONS: readonly CasInteraction[] = [
  // --- Through the CAS driver (the SCONE CLI in the sconecli pod, or a local CLI: src/cas/driver/) -------------------
  {
    id: "cli-version",
    need: "version gate of the PCS tolerance flags",
    how: "--version (last word)",
    operations: ["version"],
    source: "CLI §4 [crate: pub/version_gate.rs]",
    status: "documented",
  },
  {
    id: "attest",
    need: "attest a CAS before any session call; tolerations DB-injection signer, then standard signer",
    how: "cas attest <addr> [-c hash] [--only_for_testing_allow-unprovisioned-cas] --retries n <verifier flags>; cas set-default <addr>",
    operations: ["cas_attest", "cas_set_default"],
    source: "CLI §3/§4 [crate: pub/commands.rs]; SCONE-INTERFACE §10.1 (SGX_TOLERATIONS → SGX_STD_TOLERATIONS)",
    status: "documented",
    cliVersion: "the PCS flags need CLI ≥ 7.0.0; the driver's version gate drops them on older CLIs (CLI §4)",
  },
  {
    id: "provision",
    need: "make the owner identity the CAS owner",
    how: "cas provision <addr> -c hash --token t --config-file <toml> --retries n with-attestation <verifier flags>",
    operations: ["cas_provision", "cas_set_default"],
    source: "CLI §4 [crate: pub/commands.rs]; SCONE-INTERFACE §10.2 step 10 (kubectl-provision 6.0.5)",
    status: "documented",
    cliVersion: "the PCS flags need CLI ≥ 7.0.0; the driver's version gate drops them on older CLIs (CLI §4)",
  },
  {
    id: "cas-keys",
    need: "CAS key and software key after attestation (session calls name the CAS key)",
    how: "cas show-identification --cas-key <addr>; … --cas-software-key <addr> (failure = older CAS)",
    operations: ["cas_key", "cas_software_key"],
    source: "CLI §3 [crate: pub/cli.rs]",
    status: "documented",
    cliVersion: "the flags are the crate's, absent from the 5.8.0 reference [I: newer CLI] (CLI §4)",
  },
  {
    id: "owner-key-hash",
    need: "the owner's or the operator's key hash (access policies, owner_id file)",
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
    need: "validate a policy before upload (scone policy verify: a format check; the trust decision is CAS's)",
    how: "session check <file>",
    operations: ["validate_session"],
    source: "CLI §3 [crate: pub/cli.rs]; CLI §5 [docs: CAS_cli]",
    status: "documented",
  },
  {
    id: "session-hash",
    need: "the hash of a session body, e.g. the predecessor of an update (never computed by scone)",
    how: "session calculate-hash <file>",
    operations: ["session_hash"],
    source: "CLI §3, §6 [docs: CAS_cli, CAS_session_lang_0_3]",
    status: "documented",
  },
  {
    id: "session-create",
    need: "upload a new policy (cas-owner, backup policy, provisioned, SignedPolicy/EncryptedPolicy, operator admission)",
    how: "session create --cas <addr> --cas-key <key> <file>; the printed hash is the stored session's",
    operations: ["create_session"],
    source: "CLI §3 [crate: pub/cli.rs]; CLI §5 [docs: CAS_cli] (create prints the new hash)",
    status: "documented",
    cliVersion: "`--cas-key` is the crate's, absent from the 5.8.0 reference [I: newer CLI] (CLI §4)",
    note: "the crate recomputes the hash, which can name another body (CLI §5 'Hash mismatch risk'); scone takes the printed hash as CAS's word and refuses an answer whose last line is not 64 hex (CliOutputError), never a computed one",
  },
  {
    id: "session-update",
    need: "change a policy; `predecessor` = active hash (filled by the CLI when missing)",
    how: "session update --cas <addr> --cas-key <key> <file>",
    operations: ["update_session"],
    source: "CLI §3 [crate: pub/cli.rs]; SCONE-INTERFACE §12.3",
    status: "documented",
    cliVersion: "as session-create",
    note: "as session-create",
  },
  {
    id: "session-read",
    need: "read a policy (or one version of it by hash); `provisioned` says whether a CAS is provisioned",
    how: "session read --cas <addr> --cas-key <key> [--session-hash h] <name>; exit 2 = not found",
    operations: ["read_session"],
    source: "CLI §3 [crate: pub/cli.rs, pub/commands/tests.rs]",
    status: "documented",
    cliVersion: "`--cas-key`/`--session-hash` are the crate's, absent from the 5.8.0 reference [I: newer CLI]",
    note: "exit 2 is the crate's not-found, and also clap's usage error (a CLI without these flags, e.g. of the 5.8.0 reference): an exit 2 whose stderr has clap's usage shape (unexpected argument / Usage: / For more information, try '--help') is a CliUsageError naming the refused argument, never not-found",
  },
  {
    id: "session-list",
    need: "list policies under a namespace",
    how: "session list --cas <addr> --cas-key <key> <path>",
    operations: ["list_sessions"],
    source: "CLI §3 [crate: pub/cli.rs]; release notes 5.10 (listing endpoint)",
    status: "documented",
    cliVersion: "`session list` is the crate's, absent from the 5.8.0 reference [I: newer CLI]",
  },
  {
    id: "session-sign-encrypt",
    need: "SignedPolicy / EncryptedPolicy bodies (scone policy sign / encrypt: the manifest is the CLI's JSON, legacy lib.rs mapping)",
    how: "session sign <file>; session encrypt <file> [--cas <addr> | --key <key>]",
    operations: ["sign_session", "encrypt_session"],
    source: "CLI §3, §6 [crate: pub/cli.rs; docs: CAS_cli]",
    status: "documented",
  },
  {
    id: "audit-verify",
    need: "verify a CAS audit log; the exit code is the verdict",
    how: "cas verify-audit-log|attest-audit-log [--cas c] [--cas-key-hash k] [--checkpoints-json f] [-p] <verifier flags> <log>",
    operations: ["verify_audit_log"],
    source: "CLI §4, §5 [crate: pub/commands.rs; docs: auditLog, CAS_cli]",
    status: "documented",
    cliVersion:
      "`--checkpoints-json` and the PCS flags are the crate's, absent from the 5.8.0 reference [I: newer CLI]",
  },
  {
    id: "audit-verify-anchored",
    need: "verify an audit log that continues a known one",
    how: "cas verify-audit-log … --predecessor <signature> --last <signature> <log>",
    operations: ["verify_audit_log_anchored"],
    source: "CLI §4 [crate: pub/commands.rs]; SCONE-INTERFACE §12.4 [docs: auditLog]",
    status: "inferred",
    inferred:
      "the flags are documented, but not how a signature is written, nor the audit-line field holding it (SCONE-INTERFACE §12.4, §14) [I]",
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
      "the flags are documented but not how they combine with the crate's `<addr>` operand [I]; no builder until confirmed, so --print-public-keys prints only CAS_KEY and CAS_SOFTWARE_KEY",
  },
  // --- In the CAS pod and on the nodes (kubectl logs / exec, node labels) ------------------------------------------
  {
    id: "provisioning-lines",
    need: "CAS key hash and provisioning token of an unprovisioned CAS; the key hash to attest against",
    how: "log of NAME-0 container cas: the lines holding CAS key hash / CAS provisioning token, last field",
    operations: [],
    callers: ["src/flows/provision/steps.ts", "src/operator/cas/driver-probe.ts", "src/flows/restore/flow.ts"],
    source: "SCONE-INTERFACE §10.2 step 7; CLI §4 [docs: CAS_production]",
    status: "documented",
  },
  {
    id: "snapshot-observe",
    need: "when the CAS took its latest database snapshot (status.snapshots)",
    how: "exec in NAME-0 container cas: stat -c %Y -- <targetDirectory>/last-completed",
    operations: [],
    callers: ["src/operator/cas/snapshot-volume.ts"],
    source:
      "SCONE-INTERFACE §3.3, §12.5 (a snapshot per interval into targetDirectory), §10.1 (--local-backup copies last-completed)",
    status: "documented",
    note: "when CAS last checked for a due snapshot is not observable and not reported",
  },
  {
    id: "snapshot-copy",
    need: "a backup / --local-backup: the latest complete snapshot's files",
    how: "exec in NAME-0 container cas: readlink <dir>/last-completed; tar -cf - -C <that dir> cas.db cas.key-store",
    operations: [],
    callers: ["src/backup/pod-snapshot-source.ts"],
    source:
      "SCONE-INTERFACE §10.1 (--local-backup: kubectl cp NAME-0:/var/mnt/cas-database-snapshots/last-completed), §10.2 step 13 (cas.db, cas.key-store), §12.5",
    status: "documented",
  },
  {
    id: "snapshot-restore",
    need: "recovery / restore: start a cas-recovery CAS on a snapshot",
    how: "exec in NAME-0 container cas: tar -xf - -C /etc/cas/db (last-snapshot-db, last-snapshot-cas.key-store), sha256sum of both; bash restart-cas",
    operations: [],
    callers: ["src/flows/restore/flow.ts"],
    source: "SCONE-INTERFACE §10.1 (--cas-database-recovery), §10.2 step 13 (kubectl-provision 6.0.5)",
    status: "documented",
  },
  {
    id: "audit-log-read",
    need: "the CAS audit log (scone cas audit [-f], the API's audit read)",
    how: "log of NAME-0 container audit [follow]",
    operations: [],
    callers: ["src/flows/audit/flow.ts"],
    source: "SCONE-INTERFACE §10.6 (kubectl audit: kubectl logs NAME-0 -c audit [-f]); SCONE-STACK.md (audit)",
    status: "documented",
  },
  {
    id: "audit-chain-local",
    need: "index each audit-log line for search (seq, time, event, session; the index's chainOk hint)",
    how: "scone parses each line (seq, time, event, signature, prev_signature) and checks its link itself (src/cas/audit.ts), for the index only",
    operations: [],
    modules: ["src/cas/audit.ts"],
    callers: ["src/flows/audit/chain.ts", "src/flows/audit/flow.ts"],
    source: "SCONE-INTERFACE §12.4 (entries are signed and chained; the JSON field names are not published)",
    status: "inferred",
    inferred: "the line schema and the signature scheme are scone's own (SCONE-INTERFACE §12.4, §14) [I]",
    noVerdict:
      "the verdict of scone cas audit is audit-verify's (src/flows/audit/verify.ts: CasDriver.verifyAuditLog, exit code = verdict); this check only fills the index that --search and the API's GET /audit read",
  },
  {
    id: "backup-registration",
    need: "which nodes CAS registered for backup (relocation, drain safety, upgrade migration)",
    how: 'node label cas-registered-<cas>.<namespace>-<version>="true", set by the backup controller',
    operations: [],
    callers: ["src/operator/cas/nodes.ts"],
    source: "SCONE-STACK.md (a provider's guide, moving CAS; SCONE-INTERFACE §13 found no scontain source)",
    status: "documented",
  },
  {
    id: "register-backup",
    need: "register a node's backup CAS",
    how: "cas register-backup <addr> (run by the backup controller inside its attested CLI)",
    operations: [],
    callers: [],
    source: "SCONE-INTERFACE §10.2, §12.5 [V: CAS_cli, cas-backup-controller]",
    status: "documented",
    note: "scone never calls it: upstream's backup controller does, with the session cas-owner/primary-backup/register",
  },
  // --- How the operator runs CAS and its companions (rendered workloads: src/operator/cas/render*.ts) --------------
  {
    id: "cas-config",
    need: "CAS's availability config (database path, listen addresses)",
    how: "ConfigMap mounted as /etc/cas/cas.toml = spec.configuration (else scone's default)",
    operations: [],
    callers: ["src/operator/cas/render.ts"],
    source: "SCONE-INTERFACE §12.2 [V: CAS_config]",
    status: "documented",
  },
  {
    id: "audit-sidecar",
    need: "the audit log on a container's stdout (kubectl logs -c audit, row audit-log-read)",
    how: "container audit: tail -n +1 -F /var/log/cas/audit/cas_audit.log (read-only mount of the log directory)",
    operations: [],
    callers: ["src/operator/cas/render.ts"],
    source:
      "SCONE-INTERFACE §12.4 (sink file: /var/log/cas/audit/cas_audit.log), §10.6 (container audit); SCONE-STACK.md (audit)",
    status: "documented",
  },
  {
    id: "cas-settings",
    need: "spec.databaseSnapshots, spec.edmmMode, spec.enclaveMetrics for the CAS process",
    how: "no environment in container cas; the snapshot volume mounted at databaseSnapshots.targetDirectory; container port metrics (and the NetworkPolicy) when enclaveMetrics is enabled",
    operations: [],
    callers: ["src/operator/cas/render.ts"],
    source:
      "SCONE-INTERFACE §3.1 (the spec fields), §3.3 (the snapshot mount, the metrics port), §14 (the operator's CAS workload is not public)",
    status: "none",
    decision:
      "how the CAS image reads a snapshot interval or directory, an EDMM mode or a metrics port is not public, so scone sets no variable for them and leaves them to the CAS image's defaults: databaseSnapshots decides the snapshot volume and the status scone derives from it (snapshot-observe), enclaveMetrics the exposed port; edmmMode reaches nothing",
  },
  {
    id: "cas-probes",
    need: "liveness/startup of the CAS container (spec.livenessProbe, spec.startupProbe, spec.attestedCLIProbes)",
    how: "tcpSocket probe on container port client (spec.service.clientPort, 8081) with the spec's thresholds",
    operations: [],
    callers: ["src/operator/cas/render.ts"],
    source:
      "SCONE-INTERFACE §3.1 (probe fields; attestedCLIProbes: the probes are SCONE CLI operations), §3.3/§13 (client port 8081), §14 (probe commands not found); CLI §4 (trust-any: debug-mode CAS only [docs: CAS_cli])",
    status: "none",
    decision:
      "upstream's probe commands are not public, nor that the cas image ships a scone CLI; a guessed `scone cas attest --only_for_testing-trust-any` would fail on a production CAS. scone probes only what is documented, that CAS listens on its client port; attestation is the operator's own check (row attest, status.attestable). spec.attestedCLIProbes changes nothing",
  },
  {
    id: "backup-controller-env",
    need: "the backup controller registers backups on the eligible nodes",
    how: "environment of the backup controller: upstream's defaults and §12.5's variables only (LAS_SELECTOR_LABEL, LAS_NAMESPACE, BACKUP_CAS_IMAGE, SCONE_LAS_ADDR, BACKUP_CAS_CLIENT_PORT, BACKUP_CAS_ENCLAVE_PORT, SELECTOR_LABELS, CONTROLLER_LOOP_INTERVAL_SECONDS, BACKUP_CAS_NAME, NAMESPACE, SGX_RESOURCE_NAME, SGX_RESOURCE_QUANTITY), then spec.backup-controller.env",
    operations: [],
    callers: ["src/operator/cas/render-companions.ts"],
    source: "SCONE-INTERFACE §3.1 (env defaults), §12.5 [V: cas-backup-controller] (the variables)",
    status: "documented",
    note: "how upstream's operator hands the controller spec.backup-controller.session and .debug is not public (§14): scone renders no variable for them (the former SCONE_CONFIG_ID guess is gone); the session is the backup policy the upgrade flow updates, and a user who knows the controller's variables sets them in spec.backup-controller.env",
  },
  {
    id: "safety-service-env",
    need: "the CAS safety service knows which CAS it guards",
    how: "no environment: the Deployment (image, replicas, anti-affinity, security contexts) and its PodDisruptionBudget only",
    operations: [],
    callers: ["src/operator/cas/render-companions.ts"],
    source: "SCONE-INTERFACE §3.1 (spec.safetyService), §10.4 (the cas-safety-service image), §14",
    status: "none",
    decision:
      "the safety service's configuration is not public, so scone invents none (the former SCONE_CAS_ADDR/CAS_NAME/NAMESPACE guess is gone); what the image needs beyond its pod is left to it",
  },
  // --- Local signature checks (no documented way) -------------------------------------------------------------------
  // scone policy sign / encrypt are the rows session-sign-encrypt (the manifest built from the CLI's JSON, CLI §6),
  // scone policy verify is session-check: src/flows/policy/verify.ts.
  {
    id: "policy-verify-local",
    need: "check a SignedPolicy's signatures before CAS sees it",
    how: "none: scone does not verify signatures itself (the former local check, src/operator/policies/verify.ts, is removed)",
    operations: [],
    callers: [],
    source: "CLI §5, §6; SCONE-INTERFACE §6 (only the fields and signer formats are documented)",
    status: "none",
    decision:
      "what is signed (the exact bytes) is not published, so scone does not check signatures: scone policy verify runs session-check and says the trust decision is CAS's, made at session-create; the operator's controllers leave it to CAS too (precheck.ts)",
  },
  // --- REST (src/cas/public-values.ts; the old REST client is gone from src/, test support only) ----------------------
  {
    id: "session-rest",
    need: "session create/update over REST without the CLI",
    how: "POST /v1/sessions — path, verb and answer unpublished",
    operations: [],
    source: "SCONE-INTERFACE §12.1 [I]",
    status: "none",
    decision: "scone never calls it; sessions go through the CLI (session-create/-update)",
  },
  // --- No documented interface --------------------------------------------------------------------------------------
  {
    id: "public-values",
    need: "public secret values of a session (scone vault provision --print-public-keys: VAULT_CA)",
    how: "GET /v1/values/session=<name> on the client port (port-forward), no identity; TLS pinned to the chain of the CLI config's cas_db entry",
    operations: [],
    modules: ["src/cas/public-values.ts"],
    callers: ["src/cli/run/vault.ts"],
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
      "status from documented signals only: attest (attestable), session read provisioned (provisioned), snapshot-observe, pod readiness; what those cannot tell, status says it cannot know",
  },
  {
    id: "owner-config-update",
    need: "change the owner config (e.g. audit-log sink) after provisioning",
    how: "no documented CLI command or REST path",
    operations: [],
    source: "SCONE-INTERFACE §12.2 (refers to an unpublished API documentation)",
    status: "none",
    decision: "scone has no call for it: only a new provisioning sets the owner config",
  },
];

/** The CasDriver methods that run any of `operations` (DRIVER_OPERATIONS). */
export function driverMethodsOf(operations: readonly OperationName[]): CasDriverMethod[] {
  return (Object.keys(DRIVER_OPERATIONS) as CasDriverMethod[]).filter((m) =>
    (DRIVER_OPERATIONS[m] as readonly OperationName[]).some((op) => operations.includes(op)),
  );
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function statusCell(r: CasInteraction): string {
  if (r.status === "none") return `none: ${r.decision}`;
  const parts =
    r.status === "inferred"
      ? [
          `inferred: ${r.inferred}`,
          ...(r.open ? [`OPEN (still called): ${r.open}`] : []),
          ...(r.noVerdict ? [`still called, no verdict: ${r.noVerdict}`] : []),
        ]
      : ["documented", ...(r.cliVersion ? [`CLI version: ${r.cliVersion}`] : [])];
  if (r.note) parts.push(`note: ${r.note}`);
  return parts.join("; ");
}

function whereCell(r: CasInteraction): string {
  if (r.operations.length > 0)
    return driverMethodsOf(r.operations)
      .map((m) => `CasDriver.${m}`)
      .join(", ");
  return r.callers && r.callers.length > 0 ? r.callers.join(", ") : "—";
}

/** The table as markdown (sim/scone-cli/README.md and sim/README.md embed exactly this). */
export function renderInteractionTable(rows: readonly CasInteraction[] = CAS_INTERACTIONS): string {
  const lines = [
    "| Interaction | Need | How | Where | Source | Status |",
    "|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.id} | ${cell(r.need)} | \`${cell(r.how)}\` | ${cell(whereCell(r))} | ${cell(r.source)} | ${cell(statusCell(r))} |`,
    ),
  ];
  return `${lines.join("\n")}\n`;
}
