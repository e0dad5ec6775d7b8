// The HTTPS listener of the admission webhooks. A new certificate is swapped in without a restart: Bun cannot
// change a running server's certificate (server.reload ignores tls), so a second server starts on the same port
// (SO_REUSEPORT) with the new certificate, and the old one stops accepting and finishes what it has in flight.
import type { Logger } from "../../log.ts";
import type { PemPair } from "../certs/pki.ts";
import { MAX_BODY_BYTES } from "./http.ts";

type BunServer = ReturnType<typeof Bun.serve>;

export interface WebhookServerOptions {
  readonly port: number;
  readonly hostname?: string;
  readonly fetch: (req: Request) => Promise<Response> | Response;
  readonly log: Logger;
  /** How long a replaced listener may finish in-flight requests before it is closed. */
  readonly drainMs?: number;
}

export class WebhookServer {
  private current: BunServer | undefined;
  private readonly draining = new Set<BunServer>();
  private certPem = "";

  constructor(private readonly opts: WebhookServerOptions) {}

  /** The bound port (useful with port 0). */
  get port(): number {
    return this.current?.port ?? 0;
  }

  get listening(): boolean {
    return this.current !== undefined;
  }

  /** The certificate being served (PEM). */
  get servingCertPem(): string {
    return this.certPem;
  }

  private listen(port: number, tls: PemPair): BunServer {
    return Bun.serve({
      port,
      hostname: this.opts.hostname ?? "0.0.0.0",
      reusePort: true,
      maxRequestBodySize: MAX_BODY_BYTES + 1024,
      tls: { cert: tls.certPem, key: tls.keyPem },
      fetch: this.opts.fetch,
      error: (e) => {
        this.opts.log.error("webhook request failed", { error: e.message });
        return new Response("internal error\n", { status: 500 });
      },
    });
  }

  start(tls: PemPair): void {
    if (this.current) throw new Error("webhook server already started");
    this.current = this.listen(this.opts.port, tls);
    this.certPem = tls.certPem;
    this.opts.log.info("serving admission webhooks", { port: this.current.port });
  }

  /** Serves `tls` from now on; a no-op when it is the certificate already served. */
  swapCertificate(tls: PemPair): boolean {
    const old = this.current;
    if (!old) throw new Error("webhook server not started");
    if (tls.certPem === this.certPem) return false;
    const next = this.listen(old.port ?? this.opts.port, tls);
    this.current = next;
    this.certPem = tls.certPem;
    this.retire(old);
    this.opts.log.info("swapped the webhook serving certificate", { port: next.port });
    return true;
  }

  private retire(server: BunServer): void {
    this.draining.add(server);
    void server.stop(false);
    const timer = setTimeout(() => {
      void server.stop(true);
      this.draining.delete(server);
    }, this.opts.drainMs ?? 30_000);
    timer.unref?.();
  }

  async stop(): Promise<void> {
    const servers = [...this.draining, ...(this.current ? [this.current] : [])];
    this.current = undefined;
    this.draining.clear();
    await Promise.all(servers.map((s) => s.stop(true)));
  }
}
