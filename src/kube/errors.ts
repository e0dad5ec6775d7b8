// Typed errors for API responses. The API server answers failures with a metav1.Status; we map its code and
// reason to one class per case so callers can `instanceof` instead of parsing strings. Messages carry the
// server's message and the request's method and path, never headers, tokens or keys.

/** metav1.Status as it arrives on the wire (client-node's V1Status, minus the Date-typed fields). */
export interface ApiStatus {
  kind?: string;
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: { field?: string; message?: string; reason?: string }[];
    retryAfterSeconds?: number;
  };
}

export interface StatusCause {
  field: string;
  message: string;
  reason: string;
}

export interface RequestContext {
  method: string;
  path: string;
}

export class KubeApiError extends Error {
  override name = "KubeApiError";
  readonly code: number;
  readonly reason: string;
  readonly status: ApiStatus;
  readonly method: string;
  readonly path: string;
  /** True when repeating the same request later may succeed (throttling, server timeouts). */
  readonly retryable: boolean = false;

  constructor(status: ApiStatus, ctx: RequestContext, message?: string) {
    const code = status.code ?? 0;
    const reason = status.reason ?? "Unknown";
    super(message ?? `${ctx.method} ${ctx.path}: ${code} ${reason}: ${status.message ?? "no message"}`);
    this.code = code;
    this.reason = reason;
    this.status = status;
    this.method = ctx.method;
    this.path = ctx.path;
  }
}

export class NotFoundError extends KubeApiError {
  override name = "NotFoundError";
}
export class ConflictError extends KubeApiError {
  override name = "ConflictError";
  /** 409 with reason AlreadyExists (create of an existing name) rather than a stale resourceVersion. */
  get alreadyExists(): boolean {
    return this.reason === "AlreadyExists";
  }
}
export class AlreadyExistsError extends ConflictError {
  override name = "AlreadyExistsError";
}
export class ForbiddenError extends KubeApiError {
  override name = "ForbiddenError";
}
export class UnauthorizedError extends KubeApiError {
  override name = "UnauthorizedError";
}
export class GoneError extends KubeApiError {
  override name = "GoneError";
}
export class InvalidError extends KubeApiError {
  override name = "InvalidError";
  readonly causes: StatusCause[];
  constructor(status: ApiStatus, ctx: RequestContext) {
    const causes = (status.details?.causes ?? []).map((c) => ({
      field: c.field ?? "",
      message: c.message ?? "",
      reason: c.reason ?? "",
    }));
    const fields = causes.map((c) => c.field).filter((f) => f !== "");
    const what = fields.length > 0 ? ` (fields: ${[...new Set(fields)].join(", ")})` : "";
    super(status, ctx, `${ctx.method} ${ctx.path}: 422 Invalid${what}: ${status.message ?? "no message"}`);
    this.causes = causes;
  }
}
export class TooManyRequestsError extends KubeApiError {
  override name = "TooManyRequestsError";
  override readonly retryable = true;
  get retryAfterSeconds(): number | undefined {
    return this.status.details?.retryAfterSeconds;
  }
}
export class ServerTimeoutError extends KubeApiError {
  override name = "ServerTimeoutError";
  override readonly retryable = true;
}

/** The request never got an HTTP answer (refused, reset, TLS failure, client timeout). */
export class KubeConnectionError extends Error {
  override name = "KubeConnectionError";
  readonly method: string;
  readonly path: string;
  constructor(ctx: RequestContext, cause: unknown) {
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`${ctx.method} ${ctx.path}: no response from the API server (${detail})`, { cause });
    this.method = ctx.method;
    this.path = ctx.path;
  }
}

/** Builds a Status for bodies that are not one (proxies, plain-text 404s of non-API paths). */
export function statusFromBody(httpCode: number, body: unknown, statusText: string): ApiStatus {
  if (isApiStatus(body)) return { ...body, code: body.code ?? httpCode };
  const text = typeof body === "string" ? body.trim().slice(0, 500) : "";
  return {
    kind: "Status",
    status: "Failure",
    code: httpCode,
    reason: reasonForCode(httpCode),
    message: text || statusText,
  };
}

export function isApiStatus(value: unknown): value is ApiStatus {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "Status";
}

function reasonForCode(code: number): string {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "Unknown";
  }
}

/** Maps a failed response (its HTTP code and metav1.Status) to the matching typed error. */
export function errorFromStatus(status: ApiStatus, ctx: RequestContext): KubeApiError {
  const code = status.code ?? 0;
  switch (code) {
    case 401:
      return new UnauthorizedError(status, ctx);
    case 403:
      return new ForbiddenError(status, ctx);
    case 404:
      return new NotFoundError(status, ctx);
    case 409:
      return status.reason === "AlreadyExists" ? new AlreadyExistsError(status, ctx) : new ConflictError(status, ctx);
    case 410:
      return new GoneError(status, ctx);
    case 422:
      return new InvalidError(status, ctx);
    case 429:
      return new TooManyRequestsError(status, ctx);
    case 504:
      return new ServerTimeoutError(status, ctx);
  }
  if (status.reason === "ServerTimeout" || status.reason === "Timeout") return new ServerTimeoutError(status, ctx);
  if (status.reason === "Expired" || status.reason === "Gone") return new GoneError(status, ctx);
  return new KubeApiError(status, ctx);
}

export function isNotFound(err: unknown): err is NotFoundError {
  return err instanceof NotFoundError;
}
export function isConflict(err: unknown): err is ConflictError {
  return err instanceof ConflictError;
}
export function isAlreadyExists(err: unknown): err is AlreadyExistsError {
  return err instanceof AlreadyExistsError;
}
