// A minimal HTTP/1.1 server on node:tls, because the simulator must know WHO is calling: CAS identifies clients by
// the public key of their TLS client certificate. Measured on Bun 1.4.4:
//   Bun.serve({tls:{requestCert}})     handlers cannot see the peer certificate (oven-sh/bun #14097);
//   node:https req.socket               has no getPeerCertificate() (oven-sh/bun #37251);
//   node:tls createServer               tlsSocket.getPeerCertificate(true).raw works, also for self-signed certs
//                                       with rejectUnauthorized:false (the handshake still proves key possession).
// So: node:tls + this parser. One request per connection (`connection: close`), which is all a CAS client needs.
import { createServer, type TLSSocket } from "node:tls";
import { spkiOfCertificate } from "./principals.ts";

export interface HttpRequest {
  readonly method: string;
  /** Decoded path without the query string. */
  readonly path: string;
  /** Raw (still percent-encoded) path. */
  readonly rawPath: string;
  readonly query: URLSearchParams;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
  /** SPKI DER of the client certificate's key, when the client presented one. */
  readonly clientSpki: Uint8Array | undefined;
}

export interface HttpResponse {
  readonly status: number;
  /** JSON-encoded unless a string with an explicit contentType. */
  readonly body?: unknown;
  readonly contentType?: string;
}

export type Handler = (request: HttpRequest) => Promise<HttpResponse>;

const MAX_HEAD_BYTES = 16 * 1024;
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export type ParseResult =
  | { readonly kind: "incomplete" }
  | { readonly kind: "error"; readonly status: number; readonly message: string }
  | {
      readonly kind: "request";
      readonly method: string;
      readonly target: string;
      readonly headers: Map<string, string>;
      readonly body: Uint8Array;
    };

function decodeChunked(data: Buffer): Buffer | "incomplete" | "error" {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf("\r\n", offset);
    if (lineEnd < 0) return "incomplete";
    const size = Number.parseInt(data.subarray(offset, lineEnd).toString("latin1").split(";")[0] ?? "", 16);
    if (!Number.isFinite(size) || size < 0) return "error";
    const start = lineEnd + 2;
    if (size === 0) return data.indexOf("\r\n", start) < 0 ? "incomplete" : Buffer.concat(parts);
    if (data.length < start + size + 2) return "incomplete";
    parts.push(data.subarray(start, start + size));
    offset = start + size + 2;
  }
}

/** Parses one request from the bytes received so far (pure; exported for tests). */
export function parseRequest(data: Buffer): ParseResult {
  const headEnd = data.indexOf("\r\n\r\n");
  if (headEnd < 0) {
    return data.length > MAX_HEAD_BYTES
      ? { kind: "error", status: 431, message: "request head too large" }
      : { kind: "incomplete" };
  }
  const [requestLine = "", ...headerLines] = data.subarray(0, headEnd).toString("latin1").split("\r\n");
  const match = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(requestLine);
  if (!match) return { kind: "error", status: 400, message: "malformed request line" };
  const headers = new Map<string, string>();
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon <= 0) return { kind: "error", status: 400, message: "malformed header line" };
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const rest = data.subarray(headEnd + 4);
  let body: Buffer;
  if (headers.get("transfer-encoding")?.toLowerCase().includes("chunked")) {
    const decoded = decodeChunked(rest);
    if (decoded === "incomplete") return { kind: "incomplete" };
    if (decoded === "error") return { kind: "error", status: 400, message: "malformed chunked body" };
    body = decoded;
  } else {
    const length = Number(headers.get("content-length") ?? "0");
    if (!Number.isSafeInteger(length) || length < 0)
      return { kind: "error", status: 400, message: "bad content-length" };
    if (length > MAX_BODY_BYTES) return { kind: "error", status: 413, message: "body too large" };
    if (rest.length < length) return { kind: "incomplete" };
    body = rest.subarray(0, length);
  }
  if (body.length > MAX_BODY_BYTES) return { kind: "error", status: 413, message: "body too large" };
  return { kind: "request", method: match[1] ?? "", target: match[2] ?? "/", headers, body: new Uint8Array(body) };
}

const REASONS: Record<number, string> = {
  200: "OK",
  201: "Created",
  204: "No Content",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Payload Too Large",
  422: "Unprocessable Entity",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
};

export function renderResponse(response: HttpResponse, head: boolean): Buffer {
  const isText = typeof response.body === "string" && response.contentType !== undefined;
  const payload =
    response.body === undefined
      ? Buffer.alloc(0)
      : Buffer.from(isText ? String(response.body) : JSON.stringify(response.body));
  const lines = [
    `HTTP/1.1 ${response.status} ${REASONS[response.status] ?? "Status"}`,
    `content-type: ${isText ? response.contentType : "application/json"}`,
    `content-length: ${payload.length}`,
    "connection: close",
    "",
    "",
  ];
  return Buffer.concat([Buffer.from(lines.join("\r\n"), "latin1"), head ? Buffer.alloc(0) : payload]);
}

/** Holds requests while paused, like a frozen process: connections are accepted, answers wait for resume. */
export class Gate {
  private waiters: (() => void)[] = [];
  paused = false;

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const wake of this.waiters.splice(0)) wake();
  }

  whenOpen(): Promise<void> {
    return this.paused ? new Promise((resolve) => this.waiters.push(resolve)) : Promise.resolve();
  }
}

function clientSpkiOf(socket: TLSSocket): Uint8Array | undefined {
  const peer = socket.getPeerCertificate(true) as { raw?: Buffer } | null;
  if (!peer?.raw || peer.raw.length === 0) return undefined;
  try {
    return spkiOfCertificate(new Uint8Array(peer.raw));
  } catch {
    return undefined;
  }
}

export interface TlsHttpServer {
  readonly port: number;
  /** Swaps the serving certificate for new connections (owner config `api_identity` names). */
  setCertificate(certChain: string, key: string): void;
  close(): Promise<void>;
}

export interface TlsHttpOptions {
  readonly host: string;
  readonly port: number;
  /** Server certificate followed by its CA (PEM). */
  readonly certChain: string;
  readonly key: string;
  readonly handler: Handler;
  readonly gate: Gate;
}

export async function startTlsHttpServer(opts: TlsHttpOptions): Promise<TlsHttpServer> {
  const server = createServer(
    // Ask for a client certificate but accept any (or none): identity is the key, checked by the handlers.
    { cert: opts.certChain, key: opts.key, requestCert: true, rejectUnauthorized: false },
    (socket) => {
      socket.on("error", () => socket.destroy());
      let received = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        received = Buffer.concat([received, chunk]);
        const parsed = parseRequest(received);
        if (parsed.kind === "incomplete") return;
        socket.off("data", onData);
        if (parsed.kind === "error") {
          socket.end(renderResponse({ status: parsed.status, body: { msg: [parsed.message] } }, false));
          return;
        }
        const url = new URL(parsed.target, "https://cas.invalid");
        let path: string;
        try {
          path = decodeURIComponent(url.pathname);
        } catch {
          socket.end(renderResponse({ status: 400, body: { msg: ["malformed percent-encoding in path"] } }, false));
          return;
        }
        const request: HttpRequest = {
          method: parsed.method,
          path,
          rawPath: url.pathname,
          query: url.searchParams,
          headers: parsed.headers,
          body: parsed.body,
          clientSpki: clientSpkiOf(socket),
        };
        void opts.gate
          .whenOpen()
          .then(() => opts.handler(request))
          .catch((err: unknown) => ({
            status: 500,
            body: { msg: [`internal error: ${err instanceof Error ? err.message : String(err)}`] },
          }))
          .then((response) => {
            if (!socket.destroyed) socket.end(renderResponse(response, request.method === "HEAD"));
          });
      };
      socket.on("data", onData);
    },
  );
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;
  return {
    port,
    setCertificate: (certChain, key) => server.setSecureContext({ cert: certChain, key }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
