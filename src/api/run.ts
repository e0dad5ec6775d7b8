// `scone api`: opens the store, connects to the cluster when there is one (informers feed the resource routes),
// resumes unfinished operations, serves the Hono app over HTTP or HTTPS, and stops cleanly on SIGTERM/SIGINT.
//
// Client certificates (--tls-client-ca): Bun.serve then requires a client certificate signed by that CA during the
// TLS handshake. Bun gives handlers no access to the peer certificate, so this is a gate only: who the caller is
// and what it may do still comes from its bearer token. Use one client CA per class of clients.
import { existsSync } from "node:fs";
import { createLogger, type Logger, resolveLogLevel } from "../log.ts";
import { isLoopbackHost } from "./loopback.ts";
import type { OperationRunners } from "./operations/runner.ts";
import { serveReloadingTls, type TlsPems } from "./tls-reload.ts";

export interface ApiOptions {
  readonly port: number;
  readonly host: string;
  readonly stateDir?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** PEM CA file: require client certificates signed by it (needs --tls-cert/--tls-key). */
  readonly tlsClientCa?: string;
  readonly logLevel?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  /** Write a first admin token to this file (0600) when the store has none. */
  readonly bootstrapTokenFile?: string;
  /**
   * `--kube-auth`: accept Kubernetes bearer tokens (TokenReview, then SubjectAccessReview per request) instead of the
   * token table. Default: on in a pod (KUBERNETES_SERVICE_HOST set), off elsewhere. Needs a cluster connection.
   */
  readonly kubeAuth?: boolean;
  /**
   * Executors of long-running operations by kind; kinds without one answer 501. Default: the CAS flows
   * (operations/cas) when a cluster is configured, none otherwise.
   */
  readonly runners?: OperationRunners;
  readonly bodyLimitBytes?: number;
  /**
   * Local backup targets and restored local backups must be under it (default: <state-dir>/backups; in a pod none:
   * the pod's state directory is an emptyDir, so local directories are refused unless --backup-root names a volume).
   */
  readonly backupRoot?: string;
  /** s3://bucket[/prefix] locations backups may go to and restores come from (default: none). */
  readonly s3Allow?: readonly string[];
  /** Serve plain HTTP on a non-loopback address (refused otherwise). */
  readonly insecure?: boolean;
  /** --namespace: where the replicas' operations Lease lives with --kube-auth (default: the kubeconfig's or pod's). */
  readonly namespace?: string;
  /** `--scone-cli PATH`: the operations reach CAS through this local SCONE CLI instead of the sconecli pod. */
  readonly sconeCli?: string;
  /** --cli-node-selector: nodes the sconecli pods are created on (default any node). */
  readonly cliNodeSelector?: Readonly<Record<string, string>> | undefined;
}

export interface RunningApi {
  readonly url: string;
  readonly port: number;
  /** Whether the resource routes have a cluster behind them. */
  readonly cluster: boolean;
  stop(): Promise<void>;
}

/** Starts everything and returns once the server listens (tests and runApi). */
export async function serveApi(
  opts: ApiOptions,
  log: Logger = createLogger({ component: "api" }),
): Promise<RunningApi> {
  if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) {
    throw new Error("--tls-cert and --tls-key go together: pass both to serve HTTPS, or neither for HTTP");
  }
  if (opts.tlsClientCa && !opts.tlsCert) {
    throw new Error("--tls-client-ca needs --tls-cert and --tls-key: client certificates only exist over HTTPS");
  }
  const kubeAuth = kubeAuthWanted(opts);
  if (kubeAuth && opts.bootstrapTokenFile) {
    throw new Error(
      "--bootstrap-token-file writes a token of the token table, which --kube-auth (the default in a pod) does not use; grant rights with RBAC instead",
    );
  }
  if (!opts.tlsCert && !opts.insecure && !isLoopbackHost(opts.host)) {
    throw new Error(
      `refusing plain HTTP on ${opts.host}: bearer tokens would cross the network in clear; pass --tls-cert and --tls-key, or --insecure to accept that`,
    );
  }
  const [
    { resolveStateDir },
    { openStore },
    { createApiApp },
    { OperationExecutor },
    { confinement },
    { defaultBackupLocation },
  ] = await Promise.all([
    import("../store/state-dir.ts"),
    import("../store/open.ts"),
    import("./app.ts"),
    import("./operations/executor.ts"),
    import("./operations/confine.ts"),
    import("../backup/open-target.ts"),
  ]);

  const stateDir = resolveStateDir({ flag: opts.stateDir, mode: "api" });
  // Before the store opens: a bad --backup-root or --s3-allow is a usage error, nothing is started.
  const confine = confinement({
    backupRoot: opts.backupRoot ?? defaultBackupRoot(stateDir, defaultBackupLocation),
    s3Allow: opts.s3Allow ?? [],
  });
  const store = openStore({ stateDir });
  const cleanups: (() => Promise<void> | void)[] = [() => store.close()];
  try {
    if (opts.bootstrapTokenFile) {
      const { writeBootstrapToken } = await import("./bootstrap-token.ts");
      const outcome = writeBootstrapToken(store.db, opts.bootstrapTokenFile);
      if (outcome.written) log.info("wrote a bootstrap admin token", { file: opts.bootstrapTokenFile });
      else log.info("no bootstrap token written", { why: outcome.reason });
    }

    const cluster = await connectCluster(opts, log);
    if (cluster) cleanups.unshift(() => cluster.stop());
    if (kubeAuth && !cluster) {
      throw new Error(
        "--kube-auth needs a cluster to review tokens: pass --kubeconfig (or set KUBECONFIG), or run in a pod",
      );
    }
    const reviewer = kubeAuth && cluster ? await kubeReviewer(cluster.client) : undefined;

    const opsLog = log.child({ component: "operations" });
    const runners =
      opts.runners ??
      (cluster
        ? (await import("./operations/cas/index.ts")).casOperationRunners({
            client: cluster.client,
            stateDir,
            db: store.db,
            log: opsLog,
            confine,
            casSource: (await import("../cas/driver/source.ts")).casDriverSource({
              kube: cluster.client,
              stateDir,
              ...(opts.sconeCli ? { sconeCli: opts.sconeCli } : {}),
              ...(opts.cliNodeSelector ? { nodeSelector: opts.cliNodeSelector } : {}),
              warn: (message) => opsLog.warn(message),
            }),
          })
        : {});
    // In a cluster (--kube-auth) operations live in Kubernetes, shared by every replica; the Lease holder runs them.
    const shared = Boolean(reviewer && cluster);
    const records =
      shared && cluster
        ? (await import("./operations/kube-records.ts")).kubeOperationRecords(cluster.client)
        : (await import("./operations/records.ts")).sqliteOperationRecords(store.db);
    const executor = new OperationExecutor(records, runners, opsLog, Date.now, { active: !shared });
    cleanups.unshift(() => executor.stop());
    if (shared && cluster) {
      const { executeWhileLeading } = await import("./operations/replicas.ts");
      const stopLeading = executeWhileLeading(executor, cluster.client, {
        namespace: opts.namespace ?? cluster.client.namespace,
        log: opsLog,
      });
      cleanups.unshift(stopLeading);
    } else {
      const resumed = await executor.resumeUnfinished();
      if (resumed > 0) log.info("resumed unfinished operations", { count: resumed });
    }

    // The catalog is a cache of the targets this API may read: filled at start, so a new replica lists what the
    // others took (GET /backups?refresh=true refills it on demand).
    const { confinedTargets, refreshCatalogFromTargets } = await import("./targets.ts");
    const targets = () => confinedTargets(confine);
    void (async () => refreshCatalogFromTargets(store.db, targets()))().then(
      (added) => log.info("backup catalog filled from the targets", { added }),
      (e: unknown) => log.warn("backup catalog refresh failed", { error: e instanceof Error ? e.message : String(e) }),
    );

    const app = createApiApp({
      log,
      ...(opts.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: opts.bodyLimitBytes }),
      readiness: {
        checks: () => {
          const checks: Record<string, { ok: boolean; reason?: string }> = {};
          try {
            store.sqlite.query("select 1").get();
            checks.store = { ok: true };
          } catch (e) {
            checks.store = { ok: false, reason: e instanceof Error ? e.message : String(e) };
          }
          if (cluster) checks.informers = cluster.readiness();
          return checks;
        },
      },
      v1: {
        db: store.db,
        executor,
        confine,
        targets,
        ...(cluster ? { resources: cluster.cache } : {}),
        ...(reviewer ? { reviewer } : {}),
      },
    });

    const listen = (tls: TlsPems | undefined, port: number) =>
      Bun.serve({
        port,
        hostname: opts.host,
        fetch: app.fetch,
        // A backstop far above the API's own limit (which answers 413 as a problem): Bun never buffers more.
        maxRequestBodySize: 8 * 1024 * 1024,
        ...(tls
          ? {
              reusePort: true,
              tls: { ...tls, ...(tls.ca ? { requestCert: true, rejectUnauthorized: true } : {}) },
            }
          : {}),
      });
    const tlsFiles =
      opts.tlsCert && opts.tlsKey
        ? { cert: opts.tlsCert, key: opts.tlsKey, ...(opts.tlsClientCa ? { ca: opts.tlsClientCa } : {}) }
        : undefined;
    const server = tlsFiles
      ? serveReloadingTls(tlsFiles, listen, {
          port: opts.port,
          onReload: (error) =>
            error === undefined
              ? log.info("serving a renewed TLS certificate", { cert: tlsFiles.cert })
              : log.warn("the TLS files changed but do not load; still serving the previous pair", {
                  error: error instanceof Error ? error.message : String(error),
                }),
        })
      : listen(undefined, opts.port);
    cleanups.unshift(() => server.stop(false));
    const tls = tlsFiles;
    const url = `${tls ? "https" : "http"}://${opts.host}:${server.port}`;
    log.info("serving the REST API", {
      url,
      stateDir,
      cluster: Boolean(cluster),
      auth: reviewer ? "kubernetes" : "tokens",
      mtlsGate: Boolean(tls?.ca),
      backupRoot: confine.backupRoot,
      s3Allow: opts.s3Allow?.length ?? 0,
    });
    let stopping: Promise<void> | undefined;
    return {
      url,
      port: server.port ?? opts.port,
      cluster: Boolean(cluster),
      stop: () => {
        stopping ??= runCleanups(cleanups);
        return stopping;
      },
    };
  } catch (err) {
    await runCleanups(cleanups);
    throw err;
  }
}

/**
 * The backup root without --backup-root: <state-dir>/backups on a host; none in a pod, whose state directory is an
 * emptyDir (backups there would vanish with the pod). The operator's backup claim is ReadWriteOnce and mounted by
 * the operator pod, so the API pod cannot share it: in a pod, backups go to S3 or a volume named by --backup-root.
 */
export function defaultBackupRoot(
  stateDir: string,
  location: (stateDir: string) => string,
  env: Record<string, string | undefined> = process.env,
): string | null {
  return env.KUBERNETES_SERVICE_HOST ? null : location(stateDir);
}

/** Kubernetes tokens when asked, and always in a pod: there the cluster identity is what callers hold. */
export function kubeAuthWanted(
  opts: Pick<ApiOptions, "kubeAuth">,
  env: Record<string, string | undefined> = process.env,
): boolean {
  return opts.kubeAuth === true || Boolean(env.KUBERNETES_SERVICE_HOST);
}

async function kubeReviewer(client: import("../kube/client.ts").KubeClient) {
  const { cachedReviewer, kubeReviews } = await import("../kube/access-review.ts");
  return cachedReviewer(kubeReviews(client));
}

async function runCleanups(cleanups: readonly (() => Promise<void> | void)[]): Promise<void> {
  for (const cleanup of cleanups) await cleanup();
}

interface ClusterSide {
  client: import("../kube/client.ts").KubeClient;
  cache: import("./resource-cache.ts").ResourceCache;
  readiness(): { ok: boolean; reason?: string };
  stop(): Promise<void>;
}

/**
 * Informers on the cluster, or undefined when no cluster is configured at all (no --kubeconfig, no KUBECONFIG,
 * no ~/.kube/config, not in a pod): the API then serves the store's routes and answers 503 for resources.
 * A kubeconfig that exists but is broken is an error, not a silent fallback.
 */
async function connectCluster(opts: ApiOptions, log: Logger): Promise<ClusterSide | undefined> {
  const { kubeconfigPaths } = await import("../kube/config.ts");
  const { paths } = kubeconfigPaths({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}) });
  if (!opts.kubeconfig && !process.env.KUBERNETES_SERVICE_HOST && !paths.some((p) => existsSync(p))) {
    log.warn("no cluster configured: resource routes answer 503", { looked: paths.join(":") });
    return undefined;
  }
  const [{ KubeClient }, { SharedInformers }, { registerResource }, { sconeResourceTypes }, { informerResourceCache }] =
    await Promise.all([
      import("../kube/client.ts"),
      import("../kube/shared-informers.ts"),
      import("../kube/resources.ts"),
      import("../resources/crds.ts"),
      import("./resource-cache.ts"),
    ]);
  // Known kinds need no discovery round trip before the first list.
  for (const t of sconeResourceTypes) registerResource(t);
  const client = await KubeClient.load({
    ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
    ...(opts.context ? { context: opts.context } : {}),
  });
  const informers = new SharedInformers(client, {
    stripManagedFields: true,
    logger: log.child({ component: "kube" }),
  });
  const cache = informerResourceCache(informers);
  informers.start();
  log.info("watching SCONE resources", { server: client.transport.connection.server });
  return {
    client,
    cache,
    readiness: () => {
      if (informers.hasSynced()) return { ok: true };
      const waiting = informers
        .health()
        .informers.filter((h) => !h.synced)
        .map((h) => `${h.name.split("|")[0]}: ${h.reason ?? "not synced"}`);
      return { ok: false, reason: `caches not synced: ${waiting.join("; ")}` };
    },
    stop: () => informers.stop(),
  };
}

export async function runApi(opts: ApiOptions): Promise<void> {
  const log = createLogger({ level: resolveLogLevel(opts.logLevel), component: "api" });
  const api = await serveApi(opts, log);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info("shutting down", { signal });
      void api.stop().then(resolve);
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  log.info("stopped");
}
