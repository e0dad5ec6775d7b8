// A WebSocket to an API server streaming subresource (pods/portforward, pods/exec) speaking Kubernetes' channel
// protocol: every binary message is one channel-number byte followed by that channel's bytes. Authenticates like
// the Transport (client certificate, bearer token, basic auth) with Bun's WebSocket client, which takes `tls`
// (ca/cert/key/serverName) and `headers`. When the upgrade fails, the same URL is asked once more with a plain GET
// so the caller gets the API server's own answer (403 Forbidden, 404 pod not found, ...) as a typed error: Bun's
// WebSocket reports only that the upgrade failed.
import type { ClusterConnection } from "./config.ts";
import { type ApiStatus, errorFromStatus, KubeConnectionError, statusFromBody, UnauthorizedError } from "./errors.ts";

export interface ChannelSocketRequest {
  /** API path, e.g. /api/v1/namespaces/ns/pods/p/portforward */
  readonly path: string;
  /** Query parameters in order; keys may repeat (exec's `command`). */
  readonly query: readonly (readonly [string, string])[];
  /** Subprotocols offered, preferred first. */
  readonly protocols: readonly string[];
  /** Time allowed for the upgrade (default 30 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface ChannelSocketHandlers {
  onFrame(channel: number, data: Uint8Array): void;
  /** The socket closed (after open). `code` 1000 = normal. */
  onClose(code: number, reason: string): void;
}

export interface ChannelSocket {
  /** The subprotocol the server chose. */
  readonly protocol: string;
  send(channel: number, data?: Uint8Array): void;
  /** Bytes queued by send() but not yet handed to the network. */
  readonly bufferedAmount: number;
  close(code?: number, reason?: string): void;
}

/** `https://host:port` → `wss://host:port` + path + query (keys may repeat). */
export function channelSocketUrl(server: string, path: string, query: readonly (readonly [string, string])[]): string {
  const params = new URLSearchParams();
  for (const [key, value] of query) params.append(key, value);
  const qs = params.toString();
  return `${server.replace(/^http/, "ws")}${path}${qs ? `?${qs}` : ""}`;
}

/** One channel frame: the channel byte, then the data. */
export function encodeFrame(channel: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (!Number.isInteger(channel) || channel < 0 || channel > 255)
    throw new RangeError(`channel ${channel} is not a byte`);
  const frame = new Uint8Array(data.length + 1);
  frame[0] = channel;
  frame.set(data, 1);
  return frame;
}

/** Splits a received message into channel and data; undefined for an empty message (carries nothing). */
export function decodeFrame(message: Uint8Array): { channel: number; data: Uint8Array } | undefined {
  if (message.length === 0) return undefined;
  return { channel: message[0] ?? 0, data: message.subarray(1) };
}

/** An RFC 7230 token: what Bun's WebSocket takes as a subprotocol. */
const WEBSOCKET_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

interface AuthParts {
  headers: Record<string, string>;
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean; serverName?: string };
}

async function authParts(conn: ClusterConnection): Promise<AuthParts> {
  const headers: Record<string, string> = { "user-agent": "scone" };
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
    const pair = `${conn.basicAuth.username}:${conn.basicAuth.password}`;
    headers.authorization = `Basic ${Buffer.from(pair).toString("base64")}`;
  }
  if (!conn.server.startsWith("https:")) return { headers };
  return {
    headers,
    tls: { ca: conn.caPem, cert, key, rejectUnauthorized: !conn.insecureSkipTlsVerify, serverName: conn.tlsServerName },
  };
}

/** Asks the URL with a plain GET to learn why an upgrade failed: the API server's Status as a typed error. */
async function diagnoseUpgradeFailure(conn: ClusterConnection, request: ChannelSocketRequest): Promise<Error> {
  const ctx = { method: "GET", path: request.path };
  const { headers, tls } = await authParts(conn);
  const url = channelSocketUrl(conn.server, request.path, request.query).replace(/^ws/, "http");
  try {
    const init: BunFetchRequestInit = {
      headers: { ...headers, accept: "application/json" },
      signal: AbortSignal.timeout(10_000),
    };
    if (tls) init.tls = tls;
    if (conn.proxyUrl) init.proxy = conn.proxyUrl;
    const res = await fetch(url, init);
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // plain text: keep it
    }
    const status: ApiStatus = statusFromBody(res.status, body, res.statusText);
    // 400 "Upgrade request required" means the request itself was acceptable: the upgrade broke elsewhere.
    if (res.status === 400 && /upgrade/i.test(status.message ?? "")) {
      return new KubeConnectionError(
        ctx,
        new Error("the API server accepted the request but the WebSocket upgrade failed"),
      );
    }
    return errorFromStatus(status, ctx);
  } catch (err) {
    return new KubeConnectionError(ctx, err);
  }
}

/** A binary WebSocket to a streaming subresource whose messages are not channel frames (SPDY tunnelled in it). */
export interface RawSocket {
  /** The subprotocol the server chose. */
  readonly protocol: string;
  send(data: Uint8Array): void;
  /** Bytes queued by send() but not yet handed to the network. */
  readonly bufferedAmount: number;
  close(code?: number, reason?: string): void;
}

export interface RawSocketHandlers {
  onMessage(data: Uint8Array): void;
  /** The socket closed (after open). `code` 1000 = normal. */
  onClose(code: number, reason: string): void;
}

/**
 * Opens the socket; resolves once the upgrade succeeded, rejects with a typed error when it did not. A 401 drops the
 * cached credential (rotated service-account token, expired exec credential) and tries once more, as the Transport.
 */
export async function openChannelSocket(
  conn: ClusterConnection,
  request: ChannelSocketRequest,
  handlers: ChannelSocketHandlers,
): Promise<ChannelSocket> {
  const raw = await openRawSocket(conn, request, {
    onMessage(bytes) {
      const frame = decodeFrame(bytes);
      if (frame) handlers.onFrame(frame.channel, frame.data);
    },
    onClose: (code, reason) => handlers.onClose(code, reason),
  });
  return {
    get protocol() {
      return raw.protocol;
    },
    get bufferedAmount() {
      return raw.bufferedAmount;
    },
    send: (channel, data) => raw.send(encodeFrame(channel, data)),
    close: (code, reason) => raw.close(code, reason),
  };
}

/** openChannelSocket without the channel framing: every binary message is handed over as it came. */
export async function openRawSocket(
  conn: ClusterConnection,
  request: ChannelSocketRequest,
  handlers: RawSocketHandlers,
): Promise<RawSocket> {
  try {
    return await openOnce(conn, request, handlers);
  } catch (err) {
    if (!(err instanceof UnauthorizedError) || !conn.credentials) throw err;
    conn.credentials.invalidate();
    return openOnce(conn, request, handlers);
  }
}

async function openOnce(
  conn: ClusterConnection,
  request: ChannelSocketRequest,
  handlers: RawSocketHandlers,
): Promise<RawSocket> {
  const ctx = { method: "GET", path: request.path };
  if (request.signal?.aborted) throw request.signal.reason;
  const { headers, tls } = await authParts(conn);
  // Bun accepts only RFC 6455 tokens in `protocols`; SPDY/3.1+portforward.k8s.io has a "/" (the API server accepts
  // it, as gorilla/websocket does): such a list goes in the header itself, and Bun still reports the server's choice.
  const tokens = request.protocols.every((p) => WEBSOCKET_TOKEN.test(p));
  const options: Bun.WebSocketOptions = {
    ...(tokens ? { protocols: [...request.protocols] } : {}),
    headers: tokens ? headers : { ...headers, "sec-websocket-protocol": request.protocols.join(", ") },
    // The API server and kubelets do not negotiate compression for these streams; do not offer it.
    perMessageDeflate: false,
    ...(tls ? { tls } : {}),
    ...(conn.proxyUrl ? { proxy: conn.proxyUrl } : {}),
  };
  const ws = new WebSocket(channelSocketUrl(conn.server, request.path, request.query), options);
  ws.binaryType = "arraybuffer";
  let opened = false;
  let closed = false;
  const timeoutMs = request.timeoutMs ?? 30_000;

  const socket: RawSocket = {
    get protocol() {
      return ws.protocol;
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    send(data) {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(data);
    },
    close(code = 1000, reason = "") {
      if (ws.readyState === WebSocket.CLOSED || ws.readyState === WebSocket.CLOSING) return;
      ws.close(code, reason);
    },
  };

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.close();
      reject(new KubeConnectionError(ctx, new Error(`WebSocket upgrade timed out after ${timeoutMs} ms`)));
    }, timeoutMs);
    const onAbort = () => {
      clearTimeout(timer);
      ws.close();
      reject(request.signal?.reason);
    };
    request.signal?.addEventListener("abort", onAbort, { once: true });
    ws.addEventListener("open", () => {
      opened = true;
      clearTimeout(timer);
      request.signal?.removeEventListener("abort", onAbort);
      resolve();
    });
    ws.addEventListener("message", (event) => {
      const data = event.data;
      const bytes =
        data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : typeof data === "string"
            ? new TextEncoder().encode(data)
            : new Uint8Array(0);
      handlers.onMessage(bytes);
    });
    ws.addEventListener("close", (event) => {
      if (closed) return;
      closed = true;
      if (opened) {
        handlers.onClose(event.code, event.reason);
        return;
      }
      clearTimeout(timer);
      request.signal?.removeEventListener("abort", onAbort);
      diagnoseUpgradeFailure(conn, request).then(reject, reject);
    });
  });
  return socket;
}
