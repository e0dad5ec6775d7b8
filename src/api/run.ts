// `scone api`: opens the store, serves the Hono app over HTTP (or HTTPS with --tls-cert/--tls-key) and
// stops cleanly on SIGTERM/SIGINT, letting requests in flight finish.
import { readFileSync } from "node:fs";
import { createLogger, resolveLogLevel } from "../log.ts";

export interface ApiOptions {
  readonly port: number;
  readonly host: string;
  readonly stateDir?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly logLevel?: string;
}

export async function runApi(opts: ApiOptions): Promise<void> {
  const log = createLogger({ level: resolveLogLevel(opts.logLevel), component: "api" });
  if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) {
    throw new Error("--tls-cert and --tls-key go together: pass both to serve HTTPS, or neither for HTTP");
  }
  const { resolveStateDir } = await import("../store/state-dir.ts");
  const { openStore } = await import("../store/open.ts");
  const { createApiApp } = await import("./app.ts");

  const stateDir = resolveStateDir({ flag: opts.stateDir, mode: "api" });
  const store = openStore({ stateDir });
  const app = createApiApp({
    readiness: {
      checks: () => {
        try {
          store.sqlite.query("select 1").get();
          return { store: { ok: true } };
        } catch (e) {
          return { store: { ok: false, reason: e instanceof Error ? e.message : String(e) } };
        }
      },
    },
  });
  const tls =
    opts.tlsCert && opts.tlsKey
      ? { cert: readFileSync(opts.tlsCert, "utf8"), key: readFileSync(opts.tlsKey, "utf8") }
      : undefined;
  const server = Bun.serve({ port: opts.port, hostname: opts.host, fetch: app.fetch, ...(tls ? { tls } : {}) });
  log.info("serving the REST API", {
    url: `${tls ? "https" : "http"}://${opts.host}:${server.port}`,
    stateDir,
  });

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info("shutting down", { signal });
      void server.stop(false).then(resolve);
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  store.close();
  log.info("stopped");
}
