// HTTP to the API server over Bun's fetch. Bun honours `tls: { ca, cert, key, rejectUnauthorized, serverName }`
// per request, which is why this exists instead of client-node's undici-based layer (STACK-NOTES §2.1).
import type { ClusterConnection } from "./config.ts";
import {
  type ApiStatus,
  errorFromStatus,
  KubeConnectionError,
  type RequestContext,
  statusFromBody,
  TooManyRequestsError,
  UnauthorizedError,
} from "./errors.ts";

export type QueryValue = string | number | boolean | undefined;

export interface RequestOptions {
  method?: string;
  /** Absolute API path, e.g. /api/v1/namespaces/default/pods. */
  path: string;
  query?: Record<string, QueryValue>;
  /** Serialized as JSON unless it is already a string. */
  body?: unknown;
  contentType?: string;
  accept?: string;
  /** Whole-request timeout for buffered requests; time-to-headers for streams. Default: the transport's. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface TransportOptions {
  /** Default request timeout (ms). */
  timeoutMs?: number;
  /** How often a 429 is retried (after Retry-After, capped at 10 s) before it is thrown. */
  maxThrottleRetries?: number;
  userAgent?: string;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });

export function buildUrl(server: string, path: string, query?: Record<string, QueryValue>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== "") params.set(k, String(v));
  const qs = params.toString();
  return `${server}${path}${qs ? `?${qs}` : ""}`;
}

export class Transport {
  readonly connection: ClusterConnection;
  private readonly timeoutMs: number;
  private readonly maxThrottleRetries: number;
  private readonly userAgent: string;
  /** Told of every answer the API server sends (retries included): the operator counts them per method and code. */
  onResponse: ((method: string, status: number) => void) | undefined;

  constructor(connection: ClusterConnection, options: TransportOptions = {}) {
    this.connection = connection;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxThrottleRetries = options.maxThrottleRetries ?? 3;
    this.userAgent = options.userAgent ?? "scone";
  }

  /** Sends a request and parses the JSON answer; non-2xx answers throw typed errors (errors.ts). */
  async requestJson<T>(opts: RequestOptions): Promise<T> {
    const text = await this.requestText({ accept: "application/json", ...opts });
    return (text === "" ? {} : JSON.parse(text)) as T;
  }

  async requestText(opts: RequestOptions): Promise<string> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    const res = await this.send(opts, signal);
    try {
      return await res.text();
    } catch (err) {
      throw this.connectionError(opts, err, signal, timeoutMs);
    }
  }

  /**
   * Sends a request whose answer is read incrementally (watch, log follow). The timeout covers only the wait
   * for response headers; the body lives until the server ends it or `opts.signal` aborts.
   */
  async stream(opts: RequestOptions): Promise<Response> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const headersDeadline = new AbortController();
    const timer = setTimeout(() => headersDeadline.abort(new DOMException("timed out", "TimeoutError")), timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, headersDeadline.signal]) : headersDeadline.signal;
    try {
      return await this.send(opts, signal);
    } finally {
      clearTimeout(timer);
    }
  }

  private async send(opts: RequestOptions, signal: AbortSignal): Promise<Response> {
    const ctx: RequestContext = { method: opts.method ?? "GET", path: opts.path };
    let authRetried = false;
    for (let attempt = 0; ; attempt++) {
      const res = await this.fetchOnce(opts, ctx, signal);
      if (res.ok) return res;
      const err = errorFromStatus(await readStatus(res), ctx);
      if (err instanceof UnauthorizedError && this.connection.credentials && !authRetried) {
        // The token may have rotated (projected SA token, expired exec credential): fetch a fresh one once.
        authRetried = true;
        this.connection.credentials.invalidate();
        continue;
      }
      if (err instanceof TooManyRequestsError && attempt < this.maxThrottleRetries) {
        const header = Number(res.headers.get("retry-after"));
        const seconds = err.retryAfterSeconds ?? (Number.isFinite(header) && header > 0 ? header : 1);
        await sleep(Math.min(seconds, 10) * 1000, signal).catch(() => {});
        if (signal.aborted) throw err;
        continue;
      }
      throw err;
    }
  }

  private async fetchOnce(opts: RequestOptions, ctx: RequestContext, signal: AbortSignal): Promise<Response> {
    const conn = this.connection;
    const headers: Record<string, string> = { "user-agent": this.userAgent };
    if (opts.accept) headers.accept = opts.accept;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
      headers["content-type"] = opts.contentType ?? "application/json";
    }
    let cert = conn.clientCertPem;
    let key = conn.clientKeyPem;
    if (conn.credentials) {
      const cred = await conn.credentials.get();
      if (cred.token) headers.authorization = `Bearer ${cred.token}`;
      if (cred.clientCertPem && cred.clientKeyPem) {
        cert = cred.clientCertPem;
        key = cred.clientKeyPem;
      }
    } else if (conn.basicAuth) {
      headers.authorization = `Basic ${Buffer.from(`${conn.basicAuth.username}:${conn.basicAuth.password}`).toString("base64")}`;
    }
    const init: BunFetchRequestInit = { method: ctx.method, headers, body, signal };
    if (conn.server.startsWith("https:")) {
      init.tls = {
        ca: conn.caPem,
        cert,
        key,
        rejectUnauthorized: !conn.insecureSkipTlsVerify,
        serverName: conn.tlsServerName,
      };
    }
    if (conn.proxyUrl) init.proxy = conn.proxyUrl;
    try {
      const res = await fetch(buildUrl(conn.server, opts.path, opts.query), init);
      this.onResponse?.(ctx.method, res.status);
      return res;
    } catch (err) {
      throw this.connectionError(opts, err, signal, opts.timeoutMs ?? this.timeoutMs);
    }
  }

  private connectionError(opts: RequestOptions, err: unknown, signal: AbortSignal, timeoutMs: number): Error {
    // The caller's own abort is not a failure of ours: hand back its reason untouched.
    if (opts.signal?.aborted) return opts.signal.reason instanceof Error ? opts.signal.reason : (err as Error);
    const ctx = { method: opts.method ?? "GET", path: opts.path };
    if (signal.aborted) return new KubeConnectionError(ctx, new Error(`timed out after ${timeoutMs} ms`));
    return new KubeConnectionError(ctx, err);
  }
}

async function readStatus(res: Response): Promise<ApiStatus> {
  const text = await res.text().catch(() => "");
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return statusFromBody(res.status, body, res.statusText);
}
