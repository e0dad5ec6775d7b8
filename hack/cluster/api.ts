// A minimal admin client for the harness itself (readiness, nodes, tokens), over Bun's fetch with the admin
// client certificate. Not the product's kube client (src/kube): it only needs a handful of calls.

export interface ApiReply {
  readonly status: number;
  readonly body: unknown;
}

export interface TlsIdentity {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export class AdminApi {
  constructor(
    readonly server: string,
    private readonly tls: TlsIdentity,
  ) {}

  async request(method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<ApiReply> {
    const response = await fetch(`${this.server}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      tls: { ca: this.tls.caPem, cert: this.tls.certPem, key: this.tls.keyPem },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // plain-text endpoints (/readyz)
    }
    return { status: response.status, body: parsed };
  }

  /** True when /readyz answers 200; false on any error (not up yet, restarting). */
  async ready(): Promise<boolean> {
    try {
      return (await this.request("GET", "/readyz", undefined, 3000)).status === 200;
    } catch {
      return false;
    }
  }
}
