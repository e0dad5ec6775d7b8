// What the simulated CAS does, independent of HTTP: provisioning, sessions (create/update/read with predecessor and
// access policies), public values, encrypted sessions, attestation reports. Every operation returns the HTTP answer
// (status + body) directly, since that is all the API layer does with it. Error bodies are `{"msg": [...]}`, the
// documented CAS shape (sconedocs Exercise1); 409s also carry `current_hash` [inferred].
import { timingSafeEqual } from "node:crypto";
import type { AuditLog } from "./audit-log.ts";
import { hex } from "./codec.ts";
import type { HttpResponse } from "./http.ts";
import type { CasKeys } from "./keys.ts";
import { verifyHex } from "./keys-ed25519.ts";
import { principalOfPem, signerOf, signerPrincipal } from "./principals.ts";
import { defaultEnclave, type EnclaveIdentity, type Report, type SignedReport, signedReport } from "./report.ts";
import { openSealedBox } from "./sealed-box.ts";
import { publicKindOf, resolveSecrets, SecretKindError } from "./secrets.ts";
import {
  hashOfSession,
  namespaceOf,
  type ParsedSession,
  readSession,
  SessionFormatError,
  type SessionSignature,
  signedEnvelope,
  withPredecessor,
} from "./session-doc.ts";
import type { CasDb, StoredSecret, StoredSession, StoredVersion } from "./store.ts";

/** A signature as the signed-session JSON carries it: hex in SCONE's sample, base64 for `sign add-signature`. */
const SIGNATURE_TEXT = /^(?:[0-9a-fA-F]{2})+$|^[A-Za-z0-9+/]+={0,2}$/;

export function fail(status: number, ...msg: string[]): HttpResponse {
  return { status, body: { msg } };
}

function ok(body: unknown, status = 200): HttpResponse {
  return { status, body };
}

/** Who is calling: the key hash of the client certificate, if one was presented. Session signers are added per call. */
export interface Caller {
  readonly keyHash: string | undefined;
}

/**
 * Whether `principals` satisfy an access-policy list. Entries: CREATOR, ANY (anyone, even without a certificate),
 * NONE, a key hash / signer string, or `signer:<PEM>`. `$$SCONE::…$$` (secret-bound access) is not simulated.
 */
export function allowedBy(
  entries: readonly string[],
  principals: readonly string[],
  creator: readonly string[],
): boolean {
  for (const entry of entries) {
    if (entry === "ANY") return true;
    if (entry === "NONE") continue;
    if (entry === "CREATOR") {
      if (creator.some((c) => principals.includes(c))) return true;
      continue;
    }
    if (entry.startsWith("signer:")) {
      try {
        const pem = entry.slice("signer:".length);
        if (principals.includes(signerPrincipal(pem) ?? principalOfPem(pem))) return true;
      } catch {
        // an unreadable PEM in a policy matches nobody
      }
      continue;
    }
    if (principals.includes(entry) || principals.includes(signerPrincipal(entry) ?? "")) return true;
  }
  return false;
}

export interface OwnerConfig {
  readonly auditMode: "disabled" | "unsigned" | "signed";
  readonly auditSink: "file" | "network";
  /** `audit_log.url` (sink "network"): every entry is POSTed there. */
  readonly auditUrl: string | undefined;
  readonly auditServerCa: string | undefined;
  /** `api_identity.common_name` + `alt_names`: names the client API certificate must carry. */
  readonly apiNames: readonly string[];
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new Error(`owner_config: ${field} must be a string`);
  return value;
}

/** Parses and checks an owner config (TOML; the fields SCONE documents in CAS_config / auditLog). */
export function parseOwnerConfig(text: string): OwnerConfig | string {
  let parsed: { audit_log?: Record<string, unknown>; api_identity?: Record<string, unknown> };
  try {
    parsed = Bun.TOML.parse(text) as typeof parsed;
  } catch (err) {
    return `owner_config: not valid TOML (${err instanceof Error ? err.message : String(err)})`;
  }
  const audit = parsed.audit_log ?? {};
  const mode = audit.mode ?? "signed";
  if (mode !== "disabled" && mode !== "unsigned" && mode !== "signed") {
    return 'owner_config: audit_log.mode must be "disabled", "unsigned" or "signed"';
  }
  const sink = audit.sink ?? "file";
  if (sink !== "file" && sink !== "network") return 'owner_config: audit_log.sink must be "file" or "network"';
  try {
    const auditUrl = optionalString(audit.url, "audit_log.url");
    if (sink === "network" && !auditUrl) return 'owner_config: audit_log.url is required with sink = "network"';
    const identity = parsed.api_identity ?? {};
    const altNames = identity.alt_names ?? [];
    if (!Array.isArray(altNames) || altNames.some((n) => typeof n !== "string")) {
      return "owner_config: api_identity.alt_names must be a list of strings";
    }
    const commonName = optionalString(identity.common_name, "api_identity.common_name");
    return {
      auditMode: mode,
      auditSink: sink,
      auditUrl,
      auditServerCa: optionalString(audit.server_ca_certificate, "audit_log.server_ca_certificate"),
      apiNames: [...(commonName ? [commonName] : []), ...(altNames as string[])],
    };
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class CasCore {
  constructor(
    private db: CasDb,
    readonly keys: CasKeys,
    readonly version: string,
    private readonly persist: (db: CasDb) => void,
    readonly audit: AuditLog,
  ) {}

  /** Set by the process shell from its flags: the enclave facts the report carries, and whether a software key. */
  enclave: { identity: EnclaveIdentity; software_key: boolean } | undefined;

  /** Set by the process shell: re-issues the API certificate for the owner config's names. */
  onApiNames: (names: readonly string[]) => Promise<void> = async () => {};

  /** Set by the process shell when snapshots are enabled. */
  snapshotStatus: () => { lastSnapshotAt: string | null; lastCheckupAt: string | null } | undefined = () => undefined;

  /** Liveness and the facts an operator's status needs without attesting [inferred endpoint]. */
  health(): Record<string, unknown> {
    const snapshots = this.snapshotStatus();
    return {
      status: "ok",
      version: this.version,
      provisioned: this.db.owner !== null,
      snapshots: snapshots
        ? { enabled: true, last_snapshot_at: snapshots.lastSnapshotAt, last_checkup_at: snapshots.lastCheckupAt }
        : { enabled: false, last_snapshot_at: null, last_checkup_at: null },
    };
  }

  /** Effects of an owner config, at provisioning, on update and at start. */
  async applyOwnerConfig(config: OwnerConfig): Promise<void> {
    if (config.auditMode === "disabled") await this.audit.disable({ reason: "owner config audit_log.mode" });
    else this.audit.setNetworkSink(config.auditSink === "network" ? config.auditUrl : undefined, config.auditServerCa);
    if (config.apiNames.length > 0) await this.onApiNames(config.apiNames);
  }

  get state(): CasDb {
    return this.db;
  }

  private commit(db: CasDb): void {
    this.persist(db);
    this.db = db;
  }

  // --- identity / attestation ---------------------------------------------------------------------------------------

  async report(nonce: string): Promise<SignedReport> {
    const report: Report = {
      nonce: nonce.toLowerCase(),
      cas_key_hash: this.keys.casKeyHash,
      cas_public_key: hex(this.keys.casKey.publicKey),
      software_key_hash: this.enclave?.software_key === false ? "" : this.keys.softwareKeyHash,
      session_encryption_key: this.keys.sessionEncryptionKey,
      audit_public_key: hex(this.keys.auditKey.publicKey),
      ca_certificate: this.keys.store.tls.ca_cert,
      version: this.version,
      provisioned: this.db.owner !== null,
      timestamp: new Date().toISOString(),
      enclave: this.enclave?.identity ?? defaultEnclave(this.version),
    };
    return signedReport(report, this.keys.casKey);
  }

  // --- provisioning -------------------------------------------------------------------------------------------------

  async provision(caller: Caller, body: unknown): Promise<HttpResponse> {
    if (!caller.keyHash) return fail(401, "provisioning needs a client certificate: its key becomes the CAS owner");
    if (this.db.owner !== null || this.db.provisioning_token === null) return fail(409, "CAS is already provisioned");
    const request = body as { token?: unknown; cas_key_hash?: unknown; owner_config?: unknown } | null;
    if (typeof request?.token !== "string") return fail(400, "token: required (the CAS provisioning token)");
    if (typeof request.cas_key_hash !== "string") return fail(400, "cas_key_hash: required (the CAS key hash)");
    if (typeof request.owner_config !== "string") return fail(400, "owner_config: required (owner config TOML)");
    if (request.cas_key_hash !== this.keys.casKeyHash) {
      return fail(400, `cas_key_hash: ${request.cas_key_hash} is not this CAS's key hash (wrong CAS?)`);
    }
    if (!sameSecret(request.token, this.db.provisioning_token)) return fail(403, "token: wrong provisioning token");
    const config = parseOwnerConfig(request.owner_config);
    if (typeof config === "string") return fail(400, config);
    this.commit({
      ...this.db,
      provisioning_token: null,
      owner: { key_hash: caller.keyHash, config: request.owner_config, provisioned_at: new Date().toISOString() },
    });
    await this.audit.log("provisioned", { owner_key_hash: caller.keyHash });
    await this.applyOwnerConfig(config);
    return ok({ owner_key_hash: caller.keyHash, cas_key_hash: this.keys.casKeyHash });
  }

  private ownerOnly(caller: Caller, what: string): HttpResponse | undefined {
    if (!caller.keyHash) return fail(401, `${what} needs the owner's client certificate`);
    if (!this.db.owner) return fail(409, `${what}: CAS is not provisioned yet`);
    if (this.db.owner.key_hash !== caller.keyHash) return fail(403, `${what}: only the CAS owner may do this`);
    return undefined;
  }

  async updateOwnerConfig(caller: Caller, body: unknown): Promise<HttpResponse> {
    const denied = this.ownerOnly(caller, "owner config update");
    if (denied) return denied;
    const text = (body as { owner_config?: unknown } | null)?.owner_config;
    if (typeof text !== "string") return fail(400, "owner_config: required (owner config TOML)");
    const config = parseOwnerConfig(text);
    if (typeof config === "string") return fail(400, config);
    const owner = this.db.owner!;
    this.commit({ ...this.db, owner: { ...owner, config: text } });
    await this.audit.log("owner_config_updated", { owner_key_hash: owner.key_hash });
    await this.applyOwnerConfig(config);
    return ok({});
  }

  async registerBackup(caller: Caller, body: unknown): Promise<HttpResponse> {
    const denied = this.ownerOnly(caller, "backup registration");
    if (denied) return denied;
    const address = (body as { address?: unknown } | null)?.address;
    if (typeof address !== "string" || address === "") return fail(400, "address: required (backup CAS address)");
    const registered_at = new Date().toISOString();
    this.commit({
      ...this.db,
      backups: [...this.db.backups.filter((b) => b.address !== address), { address, registered_at }],
    });
    await this.audit.log("backup_registered", { address });
    return ok({ address, registered_at });
  }

  // --- sessions -----------------------------------------------------------------------------------------------------

  private current(session: StoredSession): StoredVersion {
    const version = session.versions.find((v) => v.hash === session.current);
    if (!version) throw new Error(`database: session ${session.name} has no version ${session.current}`);
    return version;
  }

  /**
   * Create or update (a POSTed YAML, a signed JSON envelope, or a decrypted session). `mode` absent: `predecessor`
   * decides (POST /v1/sessions). `create` / `update`: what the stand-in CLI's `session create|update` ask for — create
   * refuses an existing name; update refuses a missing one and fills in `predecessor` when the body has none.
   */
  async submitSession(
    caller: Caller,
    payload: string,
    via: "plain" | "encrypted",
    mode?: "create" | "update",
  ): Promise<HttpResponse> {
    let text = payload;
    let signatures: readonly SessionSignature[] = [];
    if (payload.trimStart().startsWith("{")) {
      let envelope: unknown;
      try {
        envelope = JSON.parse(payload);
      } catch {
        envelope = undefined;
      }
      const signed = signedEnvelope(envelope);
      if (signed) {
        text = signed.session;
        signatures = signed.signatures;
      }
    }
    let doc: ParsedSession;
    let hash: string;
    try {
      doc = readSession(text);
      if (mode !== undefined) {
        const exists = this.db.sessions[doc.name];
        if (mode === "create" && exists) {
          return fail(409, `session ${doc.name} already exists: use session update (with its predecessor)`);
        }
        if (mode === "create" && doc.predecessor !== null) {
          return fail(400, `predecessor: must be absent when creating session ${doc.name}`);
        }
        if (mode === "update" && !exists) return fail(404, `session ${doc.name} does not exist: use session create`);
        if (mode === "update" && exists && doc.predecessor === null) {
          // A signature covers the text: filling in the predecessor would break it.
          if (signatures.length > 0) return fail(400, "predecessor: a signed session update must name its predecessor");
          text = withPredecessor(text, exists.current);
          doc = readSession(text);
        }
      }
      hash = hashOfSession(text);
    } catch (err) {
      if (err instanceof SessionFormatError) return fail(400, err.message);
      throw err;
    }
    // What `scone session sign` signs is not published (SCONE-CLI §6; sim/README.md "Signed sessions"): a well-formed
    // signature is accepted, and only one that verifies over the session text (this simulator's format) is a
    // principal of the call; creator.signer must be among the signers listed.
    const signers: string[] = [];
    const listed: string[] = [];
    for (const [i, s] of signatures.entries()) {
      const signer = signerOf(s.signer);
      if (!signer) {
        return fail(
          400,
          `signatures[${i}].signer: names no session-signing key (PEM public key, Ed25519 or P-384, or signer string)`,
        );
      }
      if (!SIGNATURE_TEXT.test(s.signature)) {
        return fail(400, `signatures[${i}].signature: expected the signature as hex or base64 text`);
      }
      listed.push(signer.principal);
      if (signer.ed25519 && verifyHex(signer.ed25519, text, s.signature)) signers.push(signer.principal);
    }
    const creatorSigner = doc.creatorSigner === undefined ? undefined : signerPrincipal(doc.creatorSigner);
    if (doc.creatorSigner !== undefined && (creatorSigner === undefined || !listed.includes(creatorSigner))) {
      return fail(403, `creator.signer: the session must be signed by ${doc.creatorSigner.trim().split("\n")[0]}`);
    }
    const principals = [...(caller.keyHash ? [caller.keyHash] : []), ...signers];
    if (principals.length === 0) return fail(401, "a client certificate or a session signature is required");
    const version: StoredVersion = {
      hash,
      text,
      signatures,
      predecessor: doc.predecessor,
      created_at: new Date().toISOString(),
    };
    // Generating secrets may await; the checks and the commit after it must not, so that two concurrent updates with
    // the same predecessor cannot both pass. If the session changed meanwhile, start over against the new state.
    for (;;) {
      const before = this.db.sessions[doc.name];
      let secrets: Record<string, StoredSecret>;
      try {
        secrets = await resolveSecrets(doc.secrets, before?.secrets ?? {});
      } catch (err) {
        if (err instanceof SecretKindError) return fail(400, err.message);
        throw err;
      }
      if (this.db.sessions[doc.name] !== before) continue;
      const outcome = before
        ? this.applyUpdate(doc, version, principals, before, secrets)
        : this.applyCreate(doc, version, principals, secrets);
      if ("response" in outcome) return outcome.response;
      await this.audit.log(outcome.event, { ...outcome.details, via });
      return ok({ hash }, before ? 200 : 201);
    }
  }

  private applyCreate(
    doc: ParsedSession,
    version: StoredVersion,
    principals: readonly string[],
    secrets: Record<string, StoredSecret>,
  ): { response: HttpResponse } | { event: string; details: Record<string, unknown> } {
    if (doc.predecessor !== null) {
      return {
        response: fail(400, `predecessor: must be absent when creating session ${doc.name} (it does not exist yet)`),
      };
    }
    const parent = namespaceOf(doc.name);
    if (parent !== undefined) {
      const namespace = this.db.sessions[parent];
      if (!namespace)
        return { response: fail(404, `namespace ${parent} does not exist: create session ${parent} first`) };
      const policy = readSession(this.current(namespace).text).accessPolicy;
      if (!allowedBy(policy.createSessions, principals, namespace.creator)) {
        return {
          response: fail(403, `not allowed to create sessions in namespace ${parent} (access_policy.create_sessions)`),
        };
      }
    }
    const creatorSigner = doc.creatorSigner === undefined ? undefined : signerPrincipal(doc.creatorSigner);
    const creator = creatorSigner !== undefined ? [creatorSigner] : [...principals];
    const session: StoredSession = { name: doc.name, creator, current: version.hash, versions: [version], secrets };
    this.commit({ ...this.db, sessions: { ...this.db.sessions, [doc.name]: session } });
    return { event: "session_created", details: { session: doc.name, hash: version.hash, creator } };
  }

  private applyUpdate(
    doc: ParsedSession,
    version: StoredVersion,
    principals: readonly string[],
    existing: StoredSession,
    secrets: Record<string, StoredSecret>,
  ): { response: HttpResponse } | { event: string; details: Record<string, unknown> } {
    const conflict = (message: string) => ({
      response: { status: 409, body: { msg: [message], current_hash: existing.current } },
    });
    if (doc.predecessor === null) {
      return conflict(
        `session ${doc.name} already exists: an update must set predecessor to its current hash ${existing.current}`,
      );
    }
    if (doc.predecessor !== existing.current) {
      return conflict(
        `predecessor ${doc.predecessor} is not the current version of ${doc.name}, ${existing.current} (lost update prevented)`,
      );
    }
    const policy = readSession(this.current(existing).text).accessPolicy;
    if (!allowedBy(policy.update, principals, existing.creator)) {
      return { response: fail(403, `not allowed to update session ${doc.name} (access_policy.update)`) };
    }
    const session: StoredSession = {
      ...existing,
      current: version.hash,
      versions: [...existing.versions, version],
      secrets,
    };
    this.commit({ ...this.db, sessions: { ...this.db.sessions, [doc.name]: session } });
    return {
      event: "session_updated",
      details: { session: doc.name, hash: version.hash, predecessor: doc.predecessor },
    };
  }

  async readSession(caller: Caller, name: string, hash: string | null): Promise<HttpResponse> {
    const session = this.db.sessions[name];
    if (!session) return fail(404, `session ${name} not found`);
    const policy = readSession(this.current(session).text).accessPolicy;
    const principals = caller.keyHash ? [caller.keyHash] : [];
    if (!allowedBy(policy.read, principals, session.creator)) {
      return fail(403, `not allowed to read session ${name} (access_policy.read)`);
    }
    const version = hash === null ? this.current(session) : session.versions.find((v) => v.hash === hash);
    if (!version) return fail(404, `session ${name} has no version ${hash}`);
    await this.audit.log("session_read", { session: name, hash: version.hash, reader: caller.keyHash ?? null });
    return ok({
      session: version.text,
      hash: version.hash,
      ...(version.signatures.length > 0 ? { signatures: version.signatures } : {}),
    });
  }

  /** The names at or under `path` whose read policy admits the caller (the stand-in CLI's `session list`). */
  listSessions(caller: Caller, path: string): HttpResponse {
    if (!caller.keyHash) return fail(401, "listing sessions needs a client certificate");
    const principals = [caller.keyHash];
    const names = Object.values(this.db.sessions)
      .filter((s) => s.name === path || s.name.startsWith(`${path}/`))
      .filter((s) => allowedBy(readSession(this.current(s).text).accessPolicy.read, principals, s.creator))
      .map((s) => s.name)
      .sort();
    return ok({ names });
  }

  /** Chain facts for audit-log verification: the key, the end of the chain, one entry's signature, checkpoints. */
  auditState(caller: Caller, query: { at?: number; min?: number; max?: number }): HttpResponse {
    if (!caller.keyHash) return fail(401, "audit log state needs a client certificate");
    return ok({
      audit_public_key: hex(this.keys.auditKey.publicKey),
      cas_key_hash: this.keys.casKeyHash,
      last: this.audit.last(),
      at: query.at === undefined ? null : this.audit.at(query.at),
      checkpoints: this.audit.checkpoints(query.min, query.max),
    });
  }

  async uploadEncrypted(caller: Caller, body: unknown, mode?: "create" | "update"): Promise<HttpResponse> {
    const upload = body as { encrypted_session?: unknown; encryption_key?: unknown } | null;
    if (typeof upload?.encrypted_session !== "string") return fail(400, "encrypted_session: required (base64)");
    if (typeof upload.encryption_key !== "string") return fail(400, "encryption_key: required (64 hex)");
    if (upload.encryption_key.toLowerCase() !== this.keys.sessionEncryptionKey) {
      return fail(
        400,
        "encryption_key: not this CAS's session encryption key — encrypt for this CAS (scone cas show-identification --session-encryption-key)",
      );
    }
    let text: string;
    try {
      text = openSealedBox(upload.encrypted_session, this.keys.sessionEncryptionPrivate);
    } catch (err) {
      return fail(400, err instanceof Error ? err.message : String(err));
    }
    return this.submitSession(caller, text, "encrypted", mode);
  }

  // --- public values ------------------------------------------------------------------------------------------------

  /** `GET /v1/values/session=NAME[,secret=SECRET]`: only `export_public: true` secrets, no identity needed. */
  publicValues(sessionName: string, secretName: string | undefined): HttpResponse {
    const notVisible = (what: string): HttpResponse =>
      fail(
        404,
        `Failed to read value ${what} requested by a public client`,
        "Secret does not exist or is not visible for a public client",
      );
    const session = this.db.sessions[sessionName];
    if (!session) return notVisible(secretName ?? sessionName);
    const doc = readSession(this.current(session).text);
    const publicNames = new Set(doc.secrets.filter((s) => s.exportPublic).map((s) => s.name));
    const render = (name: string): unknown => {
      const secret = session.secrets[name];
      return secret ? { kind: publicKindOf(secret.kind), value: secret.value, expires: null, renew: null } : undefined;
    };
    if (secretName !== undefined) {
      if (!publicNames.has(secretName) || !session.secrets[secretName]) return notVisible(secretName);
      return ok(render(secretName));
    }
    const values: Record<string, unknown> = {};
    for (const name of publicNames) if (session.secrets[name]) values[name] = render(name);
    return ok({ values });
  }

  isPublicSecret(sessionName: string, secretName: string): boolean {
    const session = this.db.sessions[sessionName];
    if (!session?.secrets[secretName]) return false;
    return readSession(this.current(session).text).secrets.some((s) => s.name === secretName && s.exportPublic);
  }

  // --- enclave side [simulated] -------------------------------------------------------------------------------------

  /** What an attested service would receive: its environment with `$$SCONE::secret$$` references resolved. */
  async attestService(sessionName: string, serviceName: string): Promise<HttpResponse> {
    const session = this.db.sessions[sessionName];
    if (!session) return fail(404, `session ${sessionName} not found`);
    const service = readSession(this.current(session).text).services.find((s) => s.name === serviceName);
    if (!service) return fail(404, `service ${serviceName} not found in session ${sessionName}`);
    const environment: Record<string, string> = {};
    for (const [key, value] of Object.entries(service.environment)) {
      environment[key] = value.replace(/\$\$SCONE::([A-Za-z0-9_\-.]+)\$\$/g, (ref, name: string) => {
        return session.secrets[name]?.value ?? ref;
      });
    }
    await this.audit.log("service_attested", { session: sessionName, service: serviceName, hash: session.current });
    return ok({ session: sessionName, service: serviceName, hash: session.current, environment });
  }
}
