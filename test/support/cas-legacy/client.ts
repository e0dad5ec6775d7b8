// scone's client for a CAS's REST API (client port 8081): HTTPS with the CAS's own CA pinned, the owner identity as
// the TLS client certificate. Paths follow SCONE-INTERFACE §12.1; where SCONE documents none (provisioning, session
// create/update, owner config) the client uses the simulator's [inferred] shapes, listed in sim/cas/README.md.

import { trimTrailingSlashes } from "../../../src/runtime/text.ts";
import {
  type CasHealth,
  parseHashAnswer,
  parseHealthAnswer,
  parseProvisionAnswer,
  parseSessionAnswer,
  parseValueAnswer,
  parseValuesAnswer,
  parseVersionAnswer,
  type SecretValue,
} from "./answers.ts";
import {
  type AttestationReport,
  CasAttestationError,
  NONCE_PATTERN,
  parseSignedReport,
  type SignedAttestationReport,
  verifyReport,
} from "./attestation.ts";
import { toHex } from "./crypto.ts";
import { CasRequestError, CasUnavailableError, errorFromResponse } from "./errors.ts";
import type { IdentityPem } from "./identity.ts";
import { isSignedSession, type SignedSession, withPredecessor } from "./session.ts";

export type { CasHealth, SecretValue } from "./answers.ts";

export const DEFAULT_TIMEOUT_MS = 20_000;

export interface CasClientOptions {
  /** Base URL of the client API, e.g. `https://cas.my-ns:8081`. */
  readonly url: string;
  /** The CAS's TLS CA certificate (PEM), learned by attestation (`attestCas`). */
  readonly caCertPem: string;
  /** Owner / user identity presented as the client certificate; omit for public calls. */
  readonly identity?: IdentityPem;
  /** Per-request timeout (default 20 s, the upstream probe timeout). */
  readonly timeoutMs?: number;
  /** Host name to check the server certificate against when `url` uses another one (e.g. a port-forward). */
  readonly serverName?: string;
}

export interface SessionVersion {
  readonly session: string;
  readonly hash: string;
}

export interface ProvisionRequest {
  /** The 32-hex token printed by the unprovisioned CAS. */
  readonly token: string;
  /** The CAS key hash printed by the CAS; the CAS refuses the call when it is not its own. */
  readonly casKeyHash: string;
  /** Owner config (TOML), e.g. `[api_identity] …`, `[audit_log] mode = "signed"`. */
  readonly ownerConfig: string;
}

export interface EncryptedSessionUpload {
  /** Base64 sealed box (EncryptedPolicy.spec.policy). */
  readonly encrypted_session: string;
  /** The target CAS's session encryption key, 64 hex (EncryptedPolicy.spec.encryptionKey). */
  readonly encryption_key: string;
}

interface RequestOptions {
  readonly method?: string;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly signal?: AbortSignal;
}

/** Per-call options: a caller's signal (e.g. a reconcile's) cancels the request on top of the client timeout. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

export function newNonce(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(16)));
}

async function send(
  url: string,
  tls: BunFetchRequestInitTLS,
  timeoutMs: number,
  what: string,
  opts: RequestOptions,
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { accept: "application/json" };
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    headers["content-type"] = opts.contentType ?? "application/json";
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: opts.method ?? "GET",
      headers,
      ...(body !== undefined ? { body } : {}),
      tls,
      signal: opts.signal
        ? AbortSignal.any([opts.signal, AbortSignal.timeout(timeoutMs)])
        : AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    const reason =
      opts.signal?.aborted === true
        ? "cancelled"
        : timedOut
          ? `no answer within ${timeoutMs} ms`
          : err instanceof Error
            ? err.message
            : String(err);
    throw new CasUnavailableError(`${what}: CAS unreachable at ${url} (${reason})`, 0);
  }
  const text = await response.text();
  let parsed: unknown = text;
  if (text !== "") {
    try {
      parsed = JSON.parse(text);
    } catch {
      // keep the text: error messages stay readable even when the body is not JSON
    }
  }
  if (!response.ok) throw errorFromResponse(response.status, parsed, what);
  return { status: response.status, body: parsed };
}

export interface AttestOptions extends CallOptions {
  /** Expected CAS key hash (from the CAS console, `kubectl provision --print-public-keys` or the CLI config). */
  readonly casKeyHash: string;
  /** 32 hex; random when omitted. */
  readonly nonce?: string;
  readonly timeoutMs?: number;
}

export interface AttestResult {
  readonly report: AttestationReport;
  /** The signed report as received (verified): what CAS status.dcapReport records for spec.nonce. */
  readonly evidence: SignedAttestationReport;
  /** The CAS's TLS CA as vouched for by the signed report: pin this. */
  readonly caCertPem: string;
}

function checkedNonce(nonce: string | undefined): string {
  const value = nonce ?? newNonce();
  if (!NONCE_PATTERN.test(value)) throw new CasRequestError("nonce: expected 32 hex characters", 0);
  return value;
}

async function fetchReport(
  baseUrl: string,
  tls: BunFetchRequestInitTLS,
  opts: AttestOptions,
): Promise<{ report: AttestationReport; evidence: SignedAttestationReport }> {
  const nonce = checkedNonce(opts.nonce);
  const { body } = await send(
    `${trimTrailingSlashes(baseUrl)}/v1/attest?nonce=${nonce}`,
    tls,
    opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    "attest",
    opts.signal ? { signal: opts.signal } : {},
  );
  const evidence = parseSignedReport(body);
  return { report: await verifyReport(evidence, { nonce, casKeyHash: opts.casKeyHash }), evidence };
}

/**
 * First contact with a CAS (no pinned CA yet): the TLS chain is not checked on this one request, because the trust
 * comes from the report instead — it must be signed by the expected CAS key and echo our nonce, and it names the CA
 * that every later request pins.
 */
export async function attestCas(url: string, opts: AttestOptions): Promise<AttestResult> {
  const { report, evidence } = await fetchReport(url, { rejectUnauthorized: false }, opts);
  return { report, evidence, caCertPem: report.ca_certificate };
}

export class CasClient {
  private readonly baseUrl: string;
  private readonly tls: BunFetchRequestInitTLS;
  private readonly timeoutMs: number;

  constructor(private readonly options: CasClientOptions) {
    this.baseUrl = trimTrailingSlashes(options.url);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.tls = {
      ca: options.caCertPem,
      rejectUnauthorized: true,
      ...(options.identity ? { cert: options.identity.certPem, key: options.identity.keyPem } : {}),
      ...(options.serverName ? { serverName: options.serverName } : {}),
    };
  }

  private request(path: string, what: string, opts: RequestOptions = {}): Promise<{ status: number; body: unknown }> {
    return send(`${this.baseUrl}${path}`, this.tls, this.timeoutMs, what, opts);
  }

  private requireIdentity(what: string): void {
    if (!this.options.identity) throw new CasRequestError(`${what}: needs an identity (client certificate)`, 0);
  }

  async version(opts: CallOptions = {}): Promise<string> {
    return parseVersionAnswer((await this.request("/v1/version", "version", opts)).body);
  }

  /** Attests over the pinned channel and checks that the report still names the pinned CA. */
  async attest(opts: AttestOptions): Promise<AttestationReport> {
    return (await this.attestWithEvidence(opts)).report;
  }

  /** Like attest, also returning the signed report itself (to record it, e.g. in CAS status.dcapReport). */
  async attestWithEvidence(opts: AttestOptions): Promise<Omit<AttestResult, "caCertPem">> {
    const result = await fetchReport(this.baseUrl, this.tls, { timeoutMs: this.timeoutMs, ...opts });
    if (result.report.ca_certificate.trim() !== this.options.caCertPem.trim()) {
      throw new CasAttestationError("attestation: the CAS now reports a different TLS CA than the pinned one");
    }
    return result;
  }

  /** Liveness, provisioning state and snapshot progress. [inferred endpoint: GET /healthz] */
  async health(opts: CallOptions = {}): Promise<CasHealth> {
    return parseHealthAnswer((await this.request("/healthz", "health", opts)).body);
  }

  /** Makes this client's identity the CAS owner. [inferred endpoint: POST /v1/provision] */
  async provision(request: ProvisionRequest): Promise<{ ownerKeyHash: string }> {
    this.requireIdentity("provision");
    const { body } = await this.request("/v1/provision", "provision", {
      method: "POST",
      body: { token: request.token, cas_key_hash: request.casKeyHash, owner_config: request.ownerConfig },
    });
    return parseProvisionAnswer(body);
  }

  /** Replaces the owner config (owner only). [inferred endpoint: PUT /v1/owner/config] */
  async updateOwnerConfig(ownerConfig: string): Promise<void> {
    this.requireIdentity("update owner config");
    await this.request("/v1/owner/config", "update owner config", {
      method: "PUT",
      body: { owner_config: ownerConfig },
    });
  }

  /** Registers a backup CAS (owner only). [inferred endpoint: POST /v1/owner/backups] */
  async registerBackup(address: string): Promise<void> {
    this.requireIdentity("register backup");
    await this.request("/v1/owner/backups", "register backup", { method: "POST", body: { address } });
  }

  private async postSession(session: string | SignedSession, what: string): Promise<{ hash: string }> {
    const { body } = await this.request("/v1/sessions", what, {
      method: "POST",
      body: session,
      contentType: typeof session === "string" ? "application/x-yaml" : "application/json",
    });
    return parseHashAnswer(body, what);
  }

  /** Creates a session (YAML text or signed JSON). The session must not carry a predecessor. [inferred endpoint] */
  createSession(session: string | SignedSession): Promise<{ hash: string }> {
    return this.postSession(session, "create session");
  }

  /**
   * Updates a session. With `predecessor`, a YAML session gets it written in (like `scone session update`); a signed
   * session cannot be changed after signing, so it must already name its predecessor. Throws CasConflictError (with
   * the current hash) when the predecessor is stale.
   */
  updateSession(session: string | SignedSession, predecessor?: string): Promise<{ hash: string }> {
    if (predecessor !== undefined) {
      if (isSignedSession(session)) {
        throw new CasRequestError("update session: a signed session must be signed with its predecessor inside", 0);
      }
      return this.postSession(withPredecessor(session, predecessor), "update session");
    }
    return this.postSession(session, "update session");
  }

  /** The active version, or the version with `hash`; needs read permission under the session's access policy. */
  async readSession(name: string, hash?: string, opts: CallOptions = {}): Promise<SessionVersion> {
    const query = hash === undefined ? "" : `?hash=${encodeURIComponent(hash)}`;
    const what = `read session ${name}`;
    return parseSessionAnswer((await this.request(`/v1/sessions/${sessionPath(name)}${query}`, what, opts)).body, what);
  }

  /** The `export_public` secrets of a session (no identity needed). */
  async values(session: string): Promise<Record<string, SecretValue>> {
    const what = `values of ${session}`;
    return parseValuesAnswer((await this.request(`/v1/values/session=${sessionPath(session)}`, what)).body, what);
  }

  async value(session: string, secret: string): Promise<SecretValue> {
    const path = `/v1/values/session=${sessionPath(session)},secret=${encodeURIComponent(secret)}`;
    const what = `value ${session}/${secret}`;
    return parseValueAnswer((await this.request(path, what)).body, what);
  }

  /** Uploads an encrypted session (create or update, decided by the predecessor inside). */
  async uploadEncryptedSession(upload: EncryptedSessionUpload): Promise<{ hash: string }> {
    const { body } = await this.request("/v1/encrypted_sessions", "upload encrypted session", {
      method: "PUT",
      body: upload,
    });
    return parseHashAnswer(body, "upload encrypted session");
  }
}

/** Session names keep their `/` namespace separators in the path; each segment is percent-encoded. */
function sessionPath(name: string): string {
  return name.split("/").map(encodeURIComponent).join("/");
}
