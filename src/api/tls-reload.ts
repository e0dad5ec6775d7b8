// Serving certificates are renewed under a running API (with --with-api the operator renews the certificate every
// 60 days and the kubelet updates the mounted Secret). The files are read again every `intervalMs`; when they
// changed, a new listener with the new pair binds the same port (SO_REUSEPORT) before the old one stops: no
// connection is refused while the certificate changes, though one the kernel had queued on the old listener at
// that instant is reset (clients retry; once per renewal). A pair that does not load keeps the old listener.
// (Bun's server.reload() keeps the TLS context, so a second listener is the only way to swap it.)
import { readFileSync } from "node:fs";
import type { Server } from "bun";

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca?: string;
}

export interface TlsPems {
  readonly cert: string;
  readonly key: string;
  readonly ca?: string;
}

export function readTlsPems(files: TlsFiles): TlsPems {
  return {
    cert: readFileSync(files.cert, "utf8"),
    key: readFileSync(files.key, "utf8"),
    ...(files.ca ? { ca: readFileSync(files.ca, "utf8") } : {}),
  };
}

const samePems = (a: TlsPems, b: TlsPems): boolean => a.cert === b.cert && a.key === b.key && a.ca === b.ca;

export interface ReloadingServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** `listen(pems, port)` binds a server with reusePort; the first call gets the requested port (0: any). */
export function serveReloadingTls(
  files: TlsFiles,
  listen: (pems: TlsPems, port: number) => Server<unknown>,
  opts: { port: number; intervalMs?: number; onReload?: (error?: unknown) => void },
): ReloadingServer {
  let pems = readTlsPems(files);
  let server = listen(pems, opts.port);
  const port = server.port ?? opts.port;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      try {
        const next = readTlsPems(files);
        if (samePems(next, pems)) return;
        const replacement = listen(next, port);
        const old = server;
        server = replacement;
        pems = next;
        await old.stop(false);
        opts.onReload?.();
      } catch (err) {
        opts.onReload?.(err);
      } finally {
        busy = false;
      }
    })();
  }, opts.intervalMs ?? 30_000);
  return {
    port,
    stop: async () => {
      clearInterval(timer);
      await server.stop(false);
    },
  };
}
