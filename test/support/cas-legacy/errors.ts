// Test support: the typed errors of scone's former REST client (removed from src/, issue 13), mapped from the
// simulator's error bodies `{"msg": ["…", …]}`.
import { CasError } from "../../../src/cas/errors.ts";

export { CasError };

/** The CAS could not be reached or did not answer in time; worth retrying later. */
export class CasUnavailableError extends CasError {
  override readonly name = "CasUnavailableError";
}

/** 401/403: no client certificate, or this identity is not allowed (access policy, not the owner, wrong token). */
export class CasAuthError extends CasError {
  override readonly name = "CasAuthError";
}

export class CasNotFoundError extends CasError {
  override readonly name = "CasNotFoundError";
}

/** 409: the predecessor is stale or missing, or the CAS is already provisioned; `currentHash` is the active version. */
export class CasConflictError extends CasError {
  override readonly name = "CasConflictError";
  constructor(
    message: string,
    status: number,
    messages: readonly string[],
    readonly currentHash: string | undefined,
  ) {
    super(message, status, messages);
  }
}

/** 400/405/422: the request itself is wrong (malformed session, bad signature, wrong encryption key …). */
export class CasRequestError extends CasError {
  override readonly name = "CasRequestError";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** How much of an error body reaches the error (and the logs): the CAS, or whatever answers, is outside input. */
const MAX_MESSAGES = 10;
const MAX_MESSAGE_CHARS = 200;

/** The typed error for a non-2xx response with (possibly non-JSON) body `body`. */
export function errorFromResponse(status: number, body: unknown, what: string): CasError {
  const messages = (
    isRecord(body) && Array.isArray(body.msg)
      ? body.msg.slice(0, MAX_MESSAGES).map((m) => (typeof m === "string" ? m : (JSON.stringify(m) ?? String(m))))
      : typeof body === "string" && body !== ""
        ? [body]
        : []
  ).map((m) => (m.length > MAX_MESSAGE_CHARS ? `${m.slice(0, MAX_MESSAGE_CHARS)}…` : m));
  const message = `${what}: CAS answered ${status}${messages.length > 0 ? ` — ${messages.join("; ")}` : ""}`;
  if (status === 401 || status === 403) return new CasAuthError(message, status, messages);
  if (status === 404) return new CasNotFoundError(message, status, messages);
  if (status === 409) {
    const current = isRecord(body) && typeof body.current_hash === "string" ? body.current_hash : undefined;
    return new CasConflictError(message, status, messages, current);
  }
  if (status >= 400 && status < 500) return new CasRequestError(message, status, messages);
  return new CasError(message, status, messages);
}
