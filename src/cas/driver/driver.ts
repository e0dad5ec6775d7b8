// The CAS driver: every CAS interaction scone makes, as calls of the SCONE CLI through a CliRunner. Thin: argv and
// parsing live in commands.ts; which interface each call uses is in table.ts.
import {
  type AttestRequest,
  type AuditLogRequest,
  type AuditVerdict,
  applyVersionGate,
  attestCommand,
  auditLogCheckpointsCommand,
  type CasTarget,
  type CliCommand,
  CliInputError,
  CliUsageError,
  type CliVersion,
  casKeyCommand,
  casSoftwareKeyCommand,
  clapUsageError,
  encryptSessionCommand,
  keyHashCommand,
  listSessionsCommand,
  needsVersionGate,
  type OperationName,
  type ProvisionRequest,
  parseAuditVerdict,
  parseCheckpoints,
  parseKeyHash,
  parseSessionHash,
  parseSessionList,
  parseSigningKey,
  parseVersion,
  provisionCommand,
  readSessionCommand,
  SconeCliError,
  sessionHashCommand,
  sessionSigningKeyCommand,
  setDefaultCommand,
  signSessionCommand,
  UPSTREAM_STD_TOLERATIONS,
  UPSTREAM_TOLERATIONS,
  uploadSessionCommand,
  type VerifierSettings,
  validateSessionCommand,
  verifyAuditLogCommand,
  versionCommand,
} from "./commands.ts";
import type { CliRunner, CliRunResult } from "./runner.ts";

export interface CasIdentityKeys {
  readonly casKey: string;
  /** Absent for an older CAS (CLI §3: a failing `--cas-software-key` means "older CAS"). */
  readonly casSoftwareKey: string | null;
}

export interface AttestOutcome extends CasIdentityKeys {
  /** Which tolerance set passed: upstream's DB-injection signer first, then the standard signer. */
  readonly verifier: VerifierSettings;
  /** Gated flags removed because the CLI is older than 7.0.0 (CLI §4). */
  readonly droppedFlags: readonly string[];
}

export class CasDriver {
  private version: CliVersion | undefined;
  constructor(
    private readonly runner: CliRunner,
    private readonly warn: (message: string) => void = () => {},
  ) {}

  /** Runs one command; the version gate first when argv holds a gated flag (CLI §4 [crate: pub/version_gate.rs]). */
  private async exec(cmd: CliCommand): Promise<{ result: CliRunResult; dropped: string[] }> {
    let argv = cmd.argv;
    let dropped: string[] = [];
    if (needsVersionGate(argv)) {
      const gated = applyVersionGate(argv, await this.cliVersion());
      argv = gated.argv;
      dropped = gated.dropped;
      if (dropped.length > 0)
        this.warn(`SCONE CLI ${this.version?.text} is older than 7.0.0; left out ${dropped.join(", ")}`);
    }
    return { result: await this.runner.run(argv, cmd.env, cmd.inputFiles), dropped };
  }

  /** Runs and requires exit 0; stdout on success, SconeCliError (documented ERROR code, exit code, stderr) otherwise. */
  private async ok(cmd: CliCommand): Promise<string> {
    const { result } = await this.exec(cmd);
    if (result.exitCode !== 0) throw new SconeCliError(cmd.operation, cmd.errorCode, result.exitCode, result.stderr);
    return result.stdout;
  }

  async cliVersion(): Promise<CliVersion> {
    if (!this.version) this.version = parseVersion(await this.ok(versionCommand()));
    return this.version;
  }

  /** The owner identity's key hash (`self show-key-hash`). */
  async keyHash(): Promise<string> {
    return parseKeyHash("key_hash", await this.ok(keyHashCommand()));
  }

  /** The owner's session signing key (`self show-session-signing-key`). */
  async sessionSigningKey(): Promise<{ format: "pem" | "base58"; value: string }> {
    return parseSigningKey(await this.ok(sessionSigningKeyCommand()));
  }

  /** CLI §3 `cas_keys`. */
  async casKeys(address: string): Promise<CasIdentityKeys> {
    const casKey = parseKeyHash("cas_key", await this.ok(casKeyCommand(address)));
    const soft = await this.exec(casSoftwareKeyCommand(address));
    const casSoftwareKey = soft.result.exitCode === 0 ? soft.result.stdout.trim() || null : null;
    return { casKey, casSoftwareKey };
  }

  /**
   * Attests with each tolerance set in turn (upstream tries SGX_TOLERATIONS, then SGX_STD_TOLERATIONS,
   * SCONE-INTERFACE §10.1), then `cas set-default` and `cas_keys` as the crate does (CLI §3 `cas_attest`).
   * The error of the last attempt is thrown when none passes.
   */
  async attest(
    req: Omit<AttestRequest, "verifier">,
    verifiers: readonly VerifierSettings[] = [UPSTREAM_TOLERATIONS, UPSTREAM_STD_TOLERATIONS],
  ): Promise<AttestOutcome> {
    return this.establish(req.address, verifiers, (verifier) => attestCommand({ ...req, verifier }));
  }

  /**
   * `cas provision … with-attestation`, with upstream's fallback from the DB-injection signer to the standard one
   * (SCONE-INTERFACE §10.2 step 10), then set-default and the CAS keys (CLI §3 `cas_provision`). Upstream's last
   * resort — "both failed, but `session read provisioned` works" — is NOT copied: that session is one scone uploads
   * later, and a read that passes says nothing about this provisioning; the caller sees the error instead.
   */
  async provision(
    req: Omit<ProvisionRequest, "verifier">,
    verifiers: readonly VerifierSettings[] = [UPSTREAM_TOLERATIONS, UPSTREAM_STD_TOLERATIONS],
  ): Promise<AttestOutcome> {
    return this.establish(req.address, verifiers, (verifier) => provisionCommand({ ...req, verifier }));
  }

  /**
   * Attest or provision with each tolerance set in turn; the first the CLI accepts wins, then set-default and the
   * CAS keys (CLI §3). Only the CLI's refusal of a set moves on to the next; bad input or a runner failure stops.
   */
  private async establish(
    address: string,
    verifiers: readonly VerifierSettings[],
    build: (verifier: VerifierSettings) => CliCommand,
  ): Promise<AttestOutcome> {
    let refusal: SconeCliError | undefined;
    for (const verifier of verifiers) {
      const cmd = build(verifier);
      const { result, dropped } = await this.exec(cmd);
      if (result.exitCode !== 0) {
        refusal = new SconeCliError(cmd.operation, cmd.errorCode, result.exitCode, result.stderr);
        continue;
      }
      await this.ok(setDefaultCommand(address));
      return { ...(await this.casKeys(address)), verifier, droppedFlags: dropped };
    }
    throw refusal ?? new Error("no attestation tolerance set given");
  }

  /** `session check`: null when valid, else the CLI's reason (stderr, bounded). */
  async validateSession(body: string): Promise<string | null> {
    const { result } = await this.exec(validateSessionCommand(body));
    return result.exitCode === 0 ? null : result.stderr.slice(0, 2000).trim() || `exit code ${result.exitCode}`;
  }

  /** `session calculate-hash`: the CLI computes it; scone never does (CLI §6). */
  async sessionHash(body: string): Promise<string> {
    return parseSessionHash("session_hash", await this.ok(sessionHashCommand(body)));
  }

  async signSession(body: string): Promise<string> {
    return (await this.ok(signSessionCommand(body))).trim();
  }

  /** `session encrypt`, for the CAS `cas` of the CLI config (default: its default CAS) or the public `key`. */
  async encryptSession(body: string, cas?: string, key?: string): Promise<string> {
    return (await this.ok(encryptSessionCommand(body, cas, key))).trim();
  }

  /**
   * The active session (or the version `hash` names) as the CAS returns it; null when it does not exist (exit 2).
   * clap's usage error exits 2 too (e.g. a CLI without --cas-key): that is a CliUsageError, never "not found", or an
   * old CLI would make every CAS look unprovisioned.
   */
  async readSession(target: CasTarget, name: string, hash?: string): Promise<string | null> {
    const cmd = readSessionCommand(target, name, hash);
    const { result } = await this.exec(cmd);
    if (result.exitCode === 0) return result.stdout;
    if (result.exitCode === 2) {
      const usage = clapUsageError(result.stderr);
      if (usage !== undefined) throw new CliUsageError(cmd.operation, usage);
      return null;
    }
    throw new SconeCliError(cmd.operation, cmd.errorCode, result.exitCode, result.stderr);
  }

  async listSessions(target: CasTarget, path: string): Promise<string[]> {
    return parseSessionList(await this.ok(listSessionsCommand(target, path)));
  }

  /**
   * `session create`; returns the hash the CLI printed for the stored session (CLI §5 [docs: CAS_cli]). Unlike the
   * crate, which recomputes `calculate-hash` of the uploaded body, scone takes CAS's word: the stored session can
   * differ from the body (creator set by CAS), so a recomputed hash may not name it (CLI §5 "Hash mismatch risk").
   */
  async createSession(target: CasTarget, body: string): Promise<string> {
    return parseSessionHash("create_session", await this.ok(uploadSessionCommand("create", target, body)));
  }

  /** `session update`; the body carries `predecessor:` (the CLI fills it in when missing). Returns the new hash. */
  async updateSession(target: CasTarget, body: string): Promise<string> {
    return parseSessionHash("update_session", await this.ok(uploadSessionCommand("update", target, body)));
  }

  /** `cas verify-audit-log` / `attest-audit-log`: the exit code is the verdict (CLI §5). */
  async verifyAuditLog(req: Omit<AuditLogRequest, "predecessor" | "last">): Promise<AuditVerdict> {
    // A wider object can still carry them: they would make this the inferred anchored operation (table.ts).
    const anchors = req as AuditLogRequest;
    if (anchors.predecessor !== undefined || anchors.last !== undefined)
      throw new CliInputError("predecessor", "--predecessor/--last go through verifyAuditLogAnchored (inferred)");
    const { result } = await this.exec(verifyAuditLogCommand(req));
    return parseAuditVerdict(result);
  }

  /**
   * As verifyAuditLog, anchored with `--predecessor`/`--last` [docs: auditLog]. How those signatures are encoded is
   * not published (CLI §5, SCONE-INTERFACE §12.4): inferred, so no production path may call it (table.ts, the
   * unit test table-production.test.ts enforces it).
   */
  async verifyAuditLogAnchored(req: AuditLogRequest): Promise<AuditVerdict> {
    const { result } = await this.exec(verifyAuditLogCommand(req));
    return parseAuditVerdict(result);
  }

  async auditLogCheckpoints(req: { cas?: string; min?: number; max?: number }): Promise<unknown> {
    return parseCheckpoints(await this.ok(auditLogCheckpointsCommand(req)));
  }
}

/** The public methods of CasDriver. */
export type CasDriverMethod = keyof CasDriver;

const ESTABLISH: readonly OperationName[] = ["version", "cas_set_default", "cas_key", "cas_software_key"];

/**
 * Which commands.ts operations each CasDriver method runs (`version` where the CLI §4 gate may run it). table.ts
 * rows name operations; test/unit/cas/driver/table-production.test.ts derives from this map which operations src/
 * reaches, and checks the map against the commands the methods actually run.
 */
export const DRIVER_OPERATIONS = {
  cliVersion: ["version"],
  keyHash: ["key_hash"],
  sessionSigningKey: ["session_signing_public_key"],
  casKeys: ["cas_key", "cas_software_key"],
  attest: ["cas_attest", ...ESTABLISH],
  provision: ["cas_provision", ...ESTABLISH],
  validateSession: ["validate_session"],
  sessionHash: ["session_hash"],
  signSession: ["sign_session"],
  encryptSession: ["encrypt_session"],
  readSession: ["read_session"],
  listSessions: ["list_sessions"],
  createSession: ["create_session"],
  updateSession: ["update_session"],
  verifyAuditLog: ["verify_audit_log", "version"],
  verifyAuditLogAnchored: ["verify_audit_log_anchored", "version"],
  auditLogCheckpoints: ["audit_log_checkpoints"],
} as const satisfies Record<CasDriverMethod, readonly OperationName[]>;
