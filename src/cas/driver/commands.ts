// The SCONE CLI's documented command surface as pure functions: one builder per operation (→ argv, env, input files)
// and one parser per output format. Every builder and parser names its source next to it: the section of
// /work/shared/reference/SCONE-CLI.md ("CLI §n") and that note's own tag ([crate: …] = scontain/scone_cli_crate,
// [docs: …] = sconedocs). Where a fact is only inferred, the comment says "[I]" and src/cas/driver/table.ts marks it.
//
// Every value that reaches argv is checked by its grammar first: the CLI is run without a shell, so the only
// injection left is an option smuggled in as a value ("--trust-any" as a session name), and no grammar below admits
// a leading "-".

import { FieldInputError } from "../../runtime/field-error.ts";

/** One argument: a literal, or the path of an input file the runner writes before the call (CLI §6: temp files). */
export type CliArg = string | { readonly inputFile: string };

/** A file the CLI reads (session body, owner config, audit log): never passed on stdin (CLI §1, [crate: pub/cli.rs]). */
export interface CliInputFile {
  /** A bare file name ending in .json, .yml, .toml or .log; the runner picks the directory. */
  readonly name: string;
  readonly content: string | Uint8Array;
}

export type OperationName =
  | "version"
  | "key_hash"
  | "session_signing_public_key"
  | "validate_session"
  | "session_hash"
  | "sign_session"
  | "encrypt_session"
  | "cas_attest"
  | "cas_set_default"
  | "cas_provision"
  | "cas_key"
  | "cas_software_key"
  | "read_session"
  | "list_sessions"
  | "create_session"
  | "update_session"
  | "verify_audit_log"
  /** verify_audit_log given `--predecessor`/`--last`: the encoding of those signatures is unpublished (table.ts). */
  | "verify_audit_log_anchored"
  | "audit_log_checkpoints";

export interface CliCommand {
  readonly operation: OperationName;
  readonly argv: readonly CliArg[];
  /** Extra environment for this call; the runner adds SCONE_CLI_CONFIG and removes SCONE_CONFIG_ID (CLI §1). */
  readonly env: Readonly<Record<string, string>>;
  readonly inputFiles: readonly CliInputFile[];
  /** The ERROR code upstream's client puts in the failure message of this operation (CLI §3, [crate: pub/cli.rs]). */
  readonly errorCode: string | null;
}

/** CLI §3 [crate: pub/cli.rs]: the ERROR code per operation. */
export const ERROR_CODES = {
  version: "31045-9872-4516",
  key_hash: "50011-2231-9081",
  session_signing_public_key: "9808-322-4776",
  validate_session: "50012-4417-1290",
  session_hash: "19175-9146-3013",
  sign_session: "28666-19528-6399",
  encrypt_session: "9918-20782-3163",
  cas_attest: "7520-30768-31405",
  cas_set_default: "40002-1000-0002",
  cas_provision: "40001-1000-0001",
  cas_key: "6621-27685-4998",
  cas_software_key: "6621-27685-4998",
  read_session: "129012-1221-72811",
  list_sessions: "50013-8801-3392",
  create_session: "50014-1029-7745",
  update_session: "50015-6673-2201",
  verify_audit_log: null,
  verify_audit_log_anchored: null,
  audit_log_checkpoints: "50017-7204-1163",
} as const satisfies Record<OperationName, string | null>;

/** A value refused before the CLI runs; names the field and what it must look like. */
export class CliInputError extends FieldInputError {
  override readonly name = "CliInputError";
  constructor(field: string, message: string) {
    super(field, `${field}: ${message}`);
  }
}

const MAX_STDERR_IN_MESSAGE = 2000;

/**
 * The CLI ran and failed. The message has upstream's shape (CLI §1 [crate: pub/runner.rs]):
 * `Scone CLI command failed with exit code {c} (ERROR {code}): {stderr}`, stderr cut to 2000 characters.
 */
export class SconeCliError extends Error {
  override readonly name = "SconeCliError";
  readonly stderr: string;
  constructor(
    readonly operation: OperationName,
    readonly errorCode: string | null,
    readonly exitCode: number,
    stderr: string,
  ) {
    const bounded = stderr.length > MAX_STDERR_IN_MESSAGE ? `${stderr.slice(0, MAX_STDERR_IN_MESSAGE)}…` : stderr;
    super(
      `Scone CLI command failed with exit code ${exitCode}${errorCode ? ` (ERROR ${errorCode})` : ""}: ${bounded.trim()}`,
    );
    this.stderr = bounded;
  }
}

/**
 * The CLI refused the arguments: clap's usage error, which exits 2 like `session read`'s "not found" (CLI §3). Its
 * shape is clap's public one: `error: unexpected argument '--x' found` (clap ≥ 4) or `error: Found argument '--x'
 * which wasn't expected` (older), followed by `Usage:`/`USAGE:` and `For more information, try '--help'`.
 */
export class CliUsageError extends Error {
  override readonly name = "CliUsageError";
  constructor(
    readonly operation: OperationName,
    /** The CLI's first error line. */
    readonly reason: string,
  ) {
    super(
      `${operation}: the SCONE CLI refused its arguments (exit 2, a usage error, not "not found"): ${reason}. ` +
        "scone's session commands use --cas-key and --session-hash, which CLIs of the 5.8.0 reference lack (CLI §4): " +
        "use a SCONE CLI that has them (a newer sconecli image, or --scone-cli PATH)",
    );
  }
}

const CLAP_USAGE = [
  /unexpected argument/i,
  /which wasn't expected/i,
  /unrecognized subcommand/i,
  /^\s*usage:/im,
  /for more information, try/i,
];

/** clap's usage error in `stderr` (CliUsageError): its first error line, else undefined. */
export function clapUsageError(stderr: string): string | undefined {
  if (!CLAP_USAGE.some((re) => re.test(stderr))) return undefined;
  const lines = stderr.split("\n").map((l) => l.trim());
  const first = lines.find((l) => /^error:/i.test(l)) ?? lines.find((l) => l !== "") ?? "";
  return first.length > 300 ? `${first.slice(0, 300)}…` : first;
}

/** The CLI's answer could not be read as its documented format. */
export class CliOutputError extends Error {
  override readonly name = "CliOutputError";
  constructor(
    readonly operation: OperationName,
    message: string,
  ) {
    super(`${operation}: ${message}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Grammars of the values that reach argv.

/** host or host:port; host a DNS name or IPv4 address (a CAS Service name, `NAME.NAMESPACE`, a cluster IP). */
const CAS_ADDRESS =
  /^(?=.{1,253}(:|$))[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(?::\d{1,5})?$/;
/** CLI §5 [docs: CAS_cli-intro]: key hashes are about 50 base58 characters. The exact length is [I]. */
const KEY_HASH = /^[1-9A-HJ-NP-Za-km-z]{40,60}$/;
/** SCONE-INTERFACE §10.1/§12.2: the provisioning token is 32 hex. */
const TOKEN = /^[0-9a-fA-F]{32}$/;
/** CLI §4 [crate: pub/commands.rs]: `--database-key <64-hex>`. */
const DATABASE_KEY = /^[0-9a-fA-F]{64}$/;
/** SCONE-INTERFACE §12.3 [docs: CAS_session_lang_0_3]: name segments `[A-Za-z0-9_\-.~]{1,128}`, `/` between. */
const SESSION_SEGMENT = /^[A-Za-z0-9_\-.~]{1,128}$/;
/** SCONE-INTERFACE §12.3: a session hash (predecessor) is a 32-byte hex hash. */
const SESSION_HASH = /^[0-9a-f]{64}$/;
const MEASUREMENT = /^[0-9a-fA-F]{64}$/;
/** Intel advisory ids, e.g. INTEL-SA-00615 (CLI §4 advisory flags). */
const ADVISORY = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const NONCE = /^[0-9a-fA-F]{1,128}$/;
/** An audit-log signature as --predecessor/--last (CLI §4); the encoding is not published [I]: hex or base64. */
const SIGNATURE = /^[A-Za-z0-9+/=_]{1,1024}$/;

function check(field: string, value: string, grammar: RegExp, what: string): string {
  if (!grammar.test(value)) throw new CliInputError(field, `${JSON.stringify(value.slice(0, 80))} is not ${what}`);
  return value;
}

export function checkCasAddress(field: string, value: string): string {
  return check(field, value, CAS_ADDRESS, "a CAS address (host or host:port, e.g. cas.scone-system:8081)");
}

export function checkKeyHash(field: string, value: string): string {
  return check(
    field,
    value,
    KEY_HASH,
    "a key hash (about 50 base58 characters, as `scone cas show-identification` prints)",
  );
}

export function checkSessionName(field: string, value: string): string {
  if (value.length > 1024 || !value.split("/").every((s) => SESSION_SEGMENT.test(s))) {
    throw new CliInputError(
      field,
      `${JSON.stringify(value.slice(0, 80))} is not a session name (segments of [A-Za-z0-9_-.~], 1 to 128 each, joined by /)`,
    );
  }
  // A leading "-" would read as an option: the grammar admits it, argv must not.
  if (value.startsWith("-"))
    throw new CliInputError(field, "a session name starting with '-' cannot be passed to the CLI");
  return value;
}

export function checkSessionHash(field: string, value: string): string {
  return check(field, value, SESSION_HASH, "a session hash (64 lowercase hex)");
}

function u16(field: string, value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new CliInputError(field, `${value} is not an integer from 0 to 65535`);
  }
  return String(value);
}

function count(field: string, value: number, max: number): string {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new CliInputError(field, `${value} is not an integer from 0 to ${max}`);
  }
  return String(value);
}

function utcDay(field: string, value: Date | string): string {
  if (typeof value === "string") return check(field, value, DATE, "a date YYYY-MM-DD");
  if (Number.isNaN(value.getTime())) throw new CliInputError(field, "is not a valid date");
  // CLI §4: formatted as %Y-%m-%d in UTC.
  return value.toISOString().slice(0, 10);
}

// ---------------------------------------------------------------------------------------------------------------
// Verifier (attestation tolerance) settings — CLI §4 "Verifier flags", emitted in the crate's order.

export interface VerifierSettings {
  readonly acceptGroupOutOfDate?: boolean;
  readonly acceptConfigurationNeeded?: boolean;
  readonly acceptSwHardeningNeeded?: boolean;
  /** Gated: the CLI must be ≥ 7.0.0, otherwise the flag is dropped (CLI §4 version gate). */
  readonly acceptRevokedPckCerts?: boolean;
  /** Gated like acceptRevokedPckCerts. */
  readonly acceptUnverifiablePcsCerts?: boolean;
  readonly ignoreSigner?: boolean;
  readonly acceptDebugEnclave?: boolean;
  readonly trustAny?: boolean;
  readonly failOnAnyAdvisory?: boolean;
  /** Exactly these advisories tolerated. Absent: no flag (the crate's `None`, which CLI §4 says tolerates all). */
  readonly ignoreAdvisories?: readonly string[];
  readonly mrenclave?: readonly string[];
  readonly mrsigner?: string;
  readonly isvprodid?: number;
  readonly isvsvn?: number;
}

/** CLI §4 `K_MRSIGNER_DB`: the production CAS signer that permits database-key injection (crate default). */
export const MRSIGNER_DB_INJECTION = "195e5a6df987d6a515dd083750c1ea352283f8364d3ec9142b0d593988c6ed2d";
/** SCONE-INTERFACE §10.1 `SGX_STD_TOLERATIONS`: the standard Scontain signer, upstream's fallback. */
export const MRSIGNER_STANDARD = "b6c14ae06a05284253b548038e269f8225718bc0856828f491ed85174ccc2979";

/**
 * SCONE-INTERFACE §10.1 `SGX_TOLERATIONS` (kubectl-provision 6.0.5): the default `--set-tolerations` plus the
 * DB-injection signer with ISVPRODID 41316 / ISVSVN 5 — the same flags as the crate's `td_build_defaults` (CLI §4).
 */
export const UPSTREAM_TOLERATIONS: VerifierSettings = {
  acceptGroupOutOfDate: true,
  acceptConfigurationNeeded: true,
  acceptSwHardeningNeeded: true,
  mrsigner: MRSIGNER_DB_INJECTION,
  isvprodid: 41316,
  isvsvn: 5,
};

/** SCONE-INTERFACE §10.1 `SGX_STD_TOLERATIONS`: the same with the standard signer; tried when the first fails. */
export const UPSTREAM_STD_TOLERATIONS: VerifierSettings = { ...UPSTREAM_TOLERATIONS, mrsigner: MRSIGNER_STANDARD };

/** The flags that need CLI ≥ 7.0.0 (CLI §4 version gate [crate: pub/version_gate.rs]). */
export const GATED_FLAGS = ["--accept-revoked-pcs-certs", "--accept-unverifiable-pcs-certs"] as const;

/** CLI §4 verifier flags [crate: pub/commands.rs; api/types.rs], in the crate's order. */
export function verifierFlags(s: VerifierSettings): string[] {
  const out: string[] = [];
  if (s.acceptGroupOutOfDate) out.push("--accept-group-out-of-date");
  if (s.acceptConfigurationNeeded) out.push("--accept-configuration-needed");
  if (s.acceptSwHardeningNeeded) out.push("--accept-sw-hardening-needed");
  if (s.acceptRevokedPckCerts) out.push(GATED_FLAGS[0]);
  if (s.acceptUnverifiablePcsCerts) out.push(GATED_FLAGS[1]);
  if (s.ignoreSigner) out.push("--only_for_testing-ignore-signer");
  if (s.acceptDebugEnclave) {
    // [docs: CAS_cli]: debug enclaves only together with an ignored signer; the CLI would refuse later.
    if (!s.ignoreSigner) throw new CliInputError("acceptDebugEnclave", "needs ignoreSigner (CAS_cli)");
    out.push("--only_for_testing-debug");
  }
  if (s.trustAny) out.push("--only_for_testing-trust-any");
  // "fail wins" (CLI §4).
  if (s.failOnAnyAdvisory) out.push("--fail-on-any-advisory");
  else if (s.ignoreAdvisories && s.ignoreAdvisories.length > 0) {
    const ids = s.ignoreAdvisories.map((a, i) => check(`ignoreAdvisories[${i}]`, a, ADVISORY, "an advisory id"));
    out.push("--ignore-advisories", ids.join(","));
  }
  for (const [i, m] of (s.mrenclave ?? []).entries()) {
    out.push("--mrenclave", check(`mrenclave[${i}]`, m, MEASUREMENT, "an MRENCLAVE (64 hex)"));
  }
  if (s.mrsigner !== undefined)
    out.push("--mrsigner", check("mrsigner", s.mrsigner, MEASUREMENT, "an MRSIGNER (64 hex)"));
  // CLI §4: unset signer and signer not ignored → the crate emits the production CAS signer.
  else if (!s.ignoreSigner) out.push("--mrsigner", MRSIGNER_DB_INJECTION);
  if (s.isvprodid !== undefined) out.push("--isvprodid", u16("isvprodid", s.isvprodid));
  if (s.isvsvn !== undefined) out.push("--isvsvn", u16("isvsvn", s.isvsvn));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Builders.

function command(operation: OperationName, argv: CliArg[], inputFiles: CliInputFile[] = []): CliCommand {
  return { operation, argv, env: {}, inputFiles, errorCode: ERROR_CODES[operation] };
}

/** CLI §6 [crate: pub/session_file.rs]: `.json` when the body starts (after whitespace) with `{`, else `.yml`. */
export function sessionFile(body: string): CliInputFile {
  if (body.trim() === "") throw new CliInputError("session", "is empty");
  return { name: body.trimStart().startsWith("{") ? "session.json" : "session.yml", content: body };
}

/** CLI §4 version gate: `--version`, last whitespace token is the version. */
export function versionCommand(): CliCommand {
  return command("version", ["--version"]);
}

/** CLI §3 `key_hash`: `self show-key-hash` — the key hash of the identity in the CLI config. */
export function keyHashCommand(): CliCommand {
  return command("key_hash", ["self", "show-key-hash"]);
}

/** CLI §3 `session_signing_public_key`: `self show-session-signing-key`. */
export function sessionSigningKeyCommand(): CliCommand {
  return command("session_signing_public_key", ["self", "show-session-signing-key"]);
}

/** CLI §3 `validate_session`: `session check <tmp>`; exit 0 = valid. */
export function validateSessionCommand(body: string): CliCommand {
  const file = sessionFile(body);
  return command("validate_session", ["session", "check", { inputFile: file.name }], [file]);
}

/** CLI §3 `session_hash`: `session calculate-hash <tmp>` — computed by the CLI, never by scone (CLI §6). */
export function sessionHashCommand(body: string): CliCommand {
  const file = sessionFile(body);
  return command("session_hash", ["session", "calculate-hash", { inputFile: file.name }], [file]);
}

/** CLI §3 `sign_session`: `session sign <tmp>` → signed JSON on stdout. */
export function signSessionCommand(body: string): CliCommand {
  const file = sessionFile(body);
  return command("sign_session", ["session", "sign", { inputFile: file.name }], [file]);
}

/** The session encryption key of a CAS: 64 hex (CLI §5 [docs: mesh]). */
const SESSION_ENCRYPTION_KEY = /^[0-9a-fA-F]{64}$/;

/**
 * CLI §3 `encrypt_session`: `session encrypt <tmp> [--cas <cas>]` → encrypted JSON on stdout; or `--key <pubkey>`
 * instead of `--cas` (CLI §6 [docs: CAS_cli]: the two exclude each other).
 */
export function encryptSessionCommand(body: string, cas?: string, key?: string): CliCommand {
  const file = sessionFile(body);
  const argv: CliArg[] = ["session", "encrypt", { inputFile: file.name }];
  if (cas !== undefined && key !== undefined) throw new CliInputError("key", "--cas and --key exclude each other");
  if (cas !== undefined) argv.push("--cas", checkCasAddress("cas", cas));
  if (key !== undefined)
    argv.push("--key", check("key", key, SESSION_ENCRYPTION_KEY, "a session encryption key (64 hex)").toLowerCase());
  return command("encrypt_session", argv, [file]);
}

export interface AttestRequest {
  readonly address: string;
  /** `-c`: the CAS key hash learnt out of band (the CAS console line); without it the CLI trusts on first use. */
  readonly casKeyHash?: string;
  readonly allowCasOwnerSecretAccess?: boolean;
  /** Default 3 (CLI §4 `online()`); always emitted. */
  readonly retries?: number;
  readonly verificationTime?: Date | string;
  /** `--only_for_testing_allow-unprovisioned-cas` (online only). */
  readonly allowUnprovisioned?: boolean;
  /** Offline attestation: the report fetched from `/v1/attest` and the nonce it answers (CLI §4). */
  readonly offline?: { readonly nonce: string; readonly report: string };
  readonly verifier: VerifierSettings;
}

/** CLI §4 "Attest" [crate: pub/commands.rs]. */
export function attestCommand(req: AttestRequest): CliCommand {
  const argv: CliArg[] = ["cas", "attest", checkCasAddress("address", req.address)];
  if (req.casKeyHash !== undefined) argv.push("-c", checkKeyHash("casKeyHash", req.casKeyHash));
  if (req.allowCasOwnerSecretAccess) argv.push("--allow-cas-owner-secret-access");
  argv.push("--retries", count("retries", req.retries ?? 3, 1000));
  if (req.verificationTime !== undefined) {
    argv.push("--verification-time", utcDay("verificationTime", req.verificationTime));
  }
  const files: CliInputFile[] = [];
  if (req.offline) {
    if (req.allowUnprovisioned) throw new CliInputError("allowUnprovisioned", "is for online attestation only");
    files.push({ name: "attestation-report.json", content: req.offline.report });
    argv.push("--nonce", check("offline.nonce", req.offline.nonce, NONCE, "a hex nonce"));
    argv.push("--offline-report", { inputFile: "attestation-report.json" });
  } else if (req.allowUnprovisioned) argv.push("--only_for_testing_allow-unprovisioned-cas");
  argv.push(...verifierFlags(req.verifier));
  return command("cas_attest", argv, files);
}

/** CLI §3 `cas_attest`/`cas_provision` follow-up: `cas set-default <addr>`. */
export function setDefaultCommand(address: string): CliCommand {
  return command("cas_set_default", ["cas", "set-default", checkCasAddress("address", address)]);
}

export interface ProvisionRequest {
  readonly address: string;
  readonly casKeyHash: string;
  readonly token: string;
  /** The owner config TOML (SCONE-INTERFACE §10.2 step 9); the crate writes an empty file when none is given. */
  readonly ownerConfigToml: string;
  readonly databaseKey?: string;
  readonly retries?: number;
  readonly verificationTime?: Date | string;
  readonly verifier: VerifierSettings;
}

/**
 * CLI §4 "Provision" [crate: pub/commands.rs]. scone always provisions `with-attestation`, as kubectl-provision does
 * (SCONE-INTERFACE §10.2 step 10): the crate's form without a subcommand contradicts the 5.8.0 docs [I: mismatch],
 * and provisioning an unattested CAS would hand the database to whatever answers on the port.
 */
export function provisionCommand(req: ProvisionRequest): CliCommand {
  const toml: CliInputFile = { name: "owner-config.toml", content: req.ownerConfigToml };
  const argv: CliArg[] = [
    "cas",
    "provision",
    checkCasAddress("address", req.address),
    "-c",
    checkKeyHash("casKeyHash", req.casKeyHash),
    "--token",
    check("token", req.token, TOKEN, "a provisioning token (32 hex, the CAS console's `CAS provisioning token`)"),
    "--config-file",
    { inputFile: toml.name },
  ];
  if (req.databaseKey !== undefined) {
    argv.push("--database-key", check("databaseKey", req.databaseKey, DATABASE_KEY, "a database key (64 hex)"));
  }
  argv.push("--retries", count("retries", req.retries ?? 3, 1000), "with-attestation");
  if (req.verificationTime !== undefined) {
    argv.push("--verification-time", utcDay("verificationTime", req.verificationTime));
  }
  argv.push(...verifierFlags(req.verifier));
  return command("cas_provision", argv, [toml]);
}

/** CLI §3 `cas_keys` [crate: pub/cli.rs]: `cas show-identification --cas-key <addr>` (a newer-CLI flag, CLI §4 [I]). */
export function casKeyCommand(address: string): CliCommand {
  return command("cas_key", ["cas", "show-identification", "--cas-key", checkCasAddress("address", address)]);
}

/** CLI §3 `cas_keys`: `--cas-software-key <addr>`; a failure means "older CAS", the key is absent. */
export function casSoftwareKeyCommand(address: string): CliCommand {
  return command("cas_software_key", [
    "cas",
    "show-identification",
    "--cas-software-key",
    checkCasAddress("address", address),
  ]);
}

export interface CasTarget {
  /** The CAS address as attested (a key of the config's `cas_db`). */
  readonly address: string;
  /** The CAS key the attestation established (`cas show-identification --cas-key`). */
  readonly casKey: string;
}

function casFlags(target: CasTarget): string[] {
  // CLI §3: order `--cas`, `--cas-key`, then the operand, pinned by [crate: pub/commands/tests.rs].
  return [
    "--cas",
    checkCasAddress("cas.address", target.address),
    "--cas-key",
    checkKeyHash("cas.casKey", target.casKey),
  ];
}

/** CLI §3 `read_session`: `session read --cas <addr> --cas-key <key> [--session-hash <h>] <name>`; exit 2 = none. */
export function readSessionCommand(target: CasTarget, name: string, hash?: string): CliCommand {
  const argv: CliArg[] = ["session", "read", ...casFlags(target)];
  if (hash !== undefined) argv.push("--session-hash", checkSessionHash("hash", hash));
  argv.push(checkSessionName("name", name));
  return command("read_session", argv);
}

/** CLI §3 `list_sessions`: `session list --cas <addr> --cas-key <key> <path>`. */
export function listSessionsCommand(target: CasTarget, path: string): CliCommand {
  return command("list_sessions", ["session", "list", ...casFlags(target), checkSessionName("path", path)]);
}

/** CLI §3 `create_session`/`update_session`: `session create|update --cas <addr> --cas-key <key> <tmp>`. */
export function uploadSessionCommand(verb: "create" | "update", target: CasTarget, body: string): CliCommand {
  const file = sessionFile(body);
  return command(
    verb === "create" ? "create_session" : "update_session",
    ["session", verb, ...casFlags(target), { inputFile: file.name }],
    [file],
  );
}

export interface AuditLogRequest {
  /** The log's bytes (lines of `/var/log/cas/audit/cas_audit.log`); shipped as a file, always the last argument. */
  readonly log: string | Uint8Array;
  readonly cas?: string;
  /** `--cas-key-hash` requires `--cas` [docs: CAS_cli]. */
  readonly casKeyHash?: string;
  readonly predecessor?: string;
  readonly last?: string;
  /** The JSON `get-audit-log-checkpoints` printed; its schema is not published (CLI §5). */
  readonly checkpointsJson?: string;
  readonly printLog?: boolean;
  /** Given → `attest-audit-log` with these flags; absent → `verify-audit-log` (CLI §4). */
  readonly attestation?: VerifierSettings;
}

/** CLI §4 "Audit log" [crate: pub/commands.rs]. */
export function verifyAuditLogCommand(req: AuditLogRequest): CliCommand {
  const argv: CliArg[] = ["cas", req.attestation ? "attest-audit-log" : "verify-audit-log"];
  const files: CliInputFile[] = [];
  if (req.cas !== undefined) argv.push("--cas", checkCasAddress("cas", req.cas));
  if (req.casKeyHash !== undefined) {
    if (req.cas === undefined)
      throw new CliInputError("casKeyHash", "needs cas (CAS_cli: --cas-key-hash requires --cas)");
    argv.push("--cas-key-hash", checkKeyHash("casKeyHash", req.casKeyHash));
  }
  if (req.predecessor !== undefined)
    argv.push("--predecessor", check("predecessor", req.predecessor, SIGNATURE, "a signature"));
  if (req.last !== undefined) argv.push("--last", check("last", req.last, SIGNATURE, "a signature"));
  if (req.checkpointsJson !== undefined) {
    files.push({ name: "checkpoints.json", content: req.checkpointsJson });
    argv.push("--checkpoints-json", { inputFile: "checkpoints.json" });
  }
  if (req.printLog) argv.push("--print-log");
  if (req.attestation) argv.push(...verifierFlags(req.attestation));
  files.push({ name: "audit.log", content: req.log });
  argv.push({ inputFile: "audit.log" });
  const anchored = req.predecessor !== undefined || req.last !== undefined;
  return command(anchored ? "verify_audit_log_anchored" : "verify_audit_log", argv, files);
}

/** CLI §3 `audit_log_checkpoints`: `cas get-audit-log-checkpoints [--cas c] [--min-…] [--max-sequence-number n]`. */
export function auditLogCheckpointsCommand(req: { cas?: string; min?: number; max?: number }): CliCommand {
  const argv: CliArg[] = ["cas", "get-audit-log-checkpoints"];
  if (req.cas !== undefined) argv.push("--cas", checkCasAddress("cas", req.cas));
  if (req.min !== undefined) argv.push("--min-sequence-number", count("min", req.min, Number.MAX_SAFE_INTEGER));
  if (req.max !== undefined) argv.push("--max-sequence-number", count("max", req.max, Number.MAX_SAFE_INTEGER));
  return command("audit_log_checkpoints", argv);
}

// ---------------------------------------------------------------------------------------------------------------
// Version gate (CLI §4 [crate: pub/version_gate.rs]).

export interface CliVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly text: string;
}

/** The last whitespace token of `--version` as semver; a pre-release suffix is dropped (7.0.0-alpha.4 = 7.0.0). */
export function parseVersion(stdout: string): CliVersion {
  const token = stdout.trim().split(/\s+/).at(-1) ?? "";
  const m = /^v?(\d{1,6})\.(\d{1,6})\.(\d{1,6})(?:[-+][0-9A-Za-z.-]*)?$/.exec(token);
  if (!m)
    throw new CliOutputError(
      "version",
      `the last word of \`--version\` (${JSON.stringify(token.slice(0, 40))}) is no version`,
    );
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text: token };
}

/** Whether argv holds a gated flag, so the version must be known first. */
export function needsVersionGate(argv: readonly CliArg[]): boolean {
  return argv.some((a) => typeof a === "string" && (GATED_FLAGS as readonly string[]).includes(a));
}

/** Drops the gated flags for a CLI below 7.0.0; `dropped` names them so the caller can warn as the crate does. */
export function applyVersionGate(argv: readonly CliArg[], version: CliVersion): { argv: CliArg[]; dropped: string[] } {
  if (version.major >= 7) return { argv: [...argv], dropped: [] };
  const dropped: string[] = [];
  const kept = argv.filter((a) => {
    if (typeof a === "string" && (GATED_FLAGS as readonly string[]).includes(a)) {
      dropped.push(a);
      return false;
    }
    return true;
  });
  return { argv: kept, dropped };
}

// ---------------------------------------------------------------------------------------------------------------
// Parsers.

/** CLI §3 "stdout trimmed" for key hashes (CLI §5: one line of base58). */
export function parseKeyHash(operation: OperationName, stdout: string): string {
  const value = stdout.trim();
  if (!KEY_HASH.test(value)) {
    throw new CliOutputError(operation, `expected one key hash line, got ${JSON.stringify(value.slice(0, 80))}`);
  }
  return value;
}

/**
 * CLI §5 session signing key: a PEM SPKI block (current docs) or one Base58check line (older docs). Anything else is
 * refused rather than pasted into a session's `signer:` field.
 */
export function parseSigningKey(stdout: string): { format: "pem" | "base58"; value: string } {
  const value = stdout.trim();
  if (/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+\n-----END PUBLIC KEY-----$/.test(value.replace(/\r\n/g, "\n"))) {
    return { format: "pem", value: value.replace(/\r\n/g, "\n") };
  }
  if (/^[1-9A-HJ-NP-Za-km-z]{30,120}$/.test(value)) return { format: "base58", value };
  throw new CliOutputError("session_signing_public_key", "the output is neither a PEM public key nor a base58 key");
}

/**
 * The session hash `session create|update|calculate-hash` print. CLI §5 [docs: CAS_cli]: create/update "print the
 * new hash"; its line format is [I]: the last non-empty line, 64 hex (the predecessor format, SCONE-INTERFACE §12.3).
 */
export function parseSessionHash(operation: OperationName, stdout: string): string {
  const last = stdout.trim().split("\n").at(-1)?.trim() ?? "";
  if (!SESSION_HASH.test(last)) {
    throw new CliOutputError(operation, `expected a session hash (64 hex), got ${JSON.stringify(last.slice(0, 80))}`);
  }
  return last;
}

/** CLI §3 `list_sessions`: one name per line; lines trimmed, empty ones dropped; each must be a session name. */
export function parseSessionList(stdout: string): string[] {
  const names = stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  for (const n of names) {
    if (!n.split("/").every((s) => SESSION_SEGMENT.test(s))) {
      throw new CliOutputError("list_sessions", `${JSON.stringify(n.slice(0, 80))} is not a session name`);
    }
  }
  return names;
}

/** CLI §5 audit-log exit codes [docs: auditLog, CAS_cli], most severe first. */
export const AUDIT_VERDICTS = {
  20: "authenticity or integrity violation",
  19: "the log does not come from the selected CAS",
  18: "rollback detected",
  17: "rollback or missing/deleted entries",
  16: "rollback cannot be ruled out (includes an unreachable CAS)",
  15: "truncated: older entries missing",
  14: "truncated: recent entries missing",
  10: "correct, but a single failed transaction was rolled back",
  0: "fully correct",
} as const;

export interface AuditVerdict {
  readonly exitCode: number;
  /** The documented meaning, or null for "other: fatal error" (the CLI could not verify). */
  readonly meaning: string | null;
  readonly correct: boolean;
  /** Details (stderr, bounded) and the printed log (stdout with --print-log). */
  readonly details: string;
  readonly log: string;
}

/** CLI §3 `verify_audit_log`: a non-zero exit is a verdict, not an error (the crate returns it raw). */
export function parseAuditVerdict(result: { exitCode: number; stdout: string; stderr: string }): AuditVerdict {
  const meaning = (AUDIT_VERDICTS as Record<number, string>)[result.exitCode] ?? null;
  return {
    exitCode: result.exitCode,
    meaning,
    correct: result.exitCode === 0 || result.exitCode === 10,
    details: result.stderr.slice(0, 64 * 1024),
    log: result.stdout,
  };
}

/** CLI §3 `audit_log_checkpoints`: "pretty-printed JSON"; the schema is not published (CLI §5), so it stays opaque. */
export function parseCheckpoints(stdout: string): unknown {
  try {
    return JSON.parse(stdout.trim());
  } catch {
    throw new CliOutputError("audit_log_checkpoints", "the output is not JSON");
  }
}

/**
 * CLI §5 `cas_key_from_report` [crate: pub/report.rs]: depth-first; at each object the keys CAS_KEY, cas_key,
 * casKey, cas_key_hash, casKeyHash in this order, first non-empty trimmed string wins; then object values (keys in
 * alphabetical order — serde_json's default map order [I]) and array elements.
 */
export function casKeyFromReport(json: string): string {
  let root: unknown;
  try {
    root = JSON.parse(json);
  } catch {
    throw new CliOutputError("cas_attest", "Invalid CAS attestation JSON");
  }
  const KEYS = ["CAS_KEY", "cas_key", "casKey", "cas_key_hash", "casKeyHash"];
  const stack: unknown[] = [root];
  let visited = 0;
  while (stack.length > 0) {
    // Bounded: a hostile report cannot keep this loop busy for long.
    if (++visited > 100_000) break;
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push(node[i]);
    } else if (typeof node === "object" && node !== null) {
      const obj = node as Record<string, unknown>;
      for (const k of KEYS) {
        const v = obj[k];
        if (typeof v === "string" && v.trim() !== "") return v.trim();
      }
      const keys = Object.keys(obj).sort();
      for (let i = keys.length - 1; i >= 0; i--) stack.push(obj[keys[i]!]);
    }
  }
  throw new CliOutputError("cas_attest", "the attestation report names no CAS key");
}

/**
 * The unprovisioned CAS's console lines (SCONE-INTERFACE §10.2 step 7; CLI §4 [docs: CAS_production]): lines
 * containing `CAS key hash` and `CAS provisioning token`; the value is the last whitespace field. Not CLI output,
 * but the input the provision command needs; the last occurrence wins (a restarted CAS prints again).
 */
export function parseProvisioningLines(log: string): { casKeyHash: string; token: string } | null {
  let casKeyHash: string | null = null;
  let token: string | null = null;
  for (const line of log.split("\n")) {
    const last = line.trim().split(/\s+/).at(-1) ?? "";
    if (line.includes("CAS key hash") && KEY_HASH.test(last)) casKeyHash = last;
    if (line.includes("CAS provisioning token") && TOKEN.test(last)) token = last;
  }
  return casKeyHash && token ? { casKeyHash, token } : null;
}
