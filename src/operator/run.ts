// `scone operator`: loads the kubeconfig or the in-cluster config, checks the API server answers, then runs
// the manager (probes, metrics, informers, leader election, controllers) until SIGTERM/SIGINT.
import { hostname } from "node:os";
import { createLogger, resolveLogLevel } from "../log.ts";
import { metricsAuthorizer, metricsReviewer } from "../metrics/auth.ts";
import { KUBE_CLIENT_METRICS } from "../metrics/catalog.ts";
import { metricsTls } from "../metrics/tls.ts";
import { imageMirrorFromEnv } from "../resources/defaults.ts";
import { withFailureLog } from "../runtime/reconcile-log.ts";

export interface OperatorOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly stateDir?: string;
  readonly metricsPort: number;
  /** --metrics-secure: /metrics over HTTPS behind TokenReview + SubjectAccessReview (src/metrics/auth.ts). */
  readonly metricsSecure?: boolean;
  /** --metrics-cert-dir: tls.crt and tls.key of /metrics; default self-signed. */
  readonly metricsCertDir?: string | undefined;
  readonly probePort: number;
  readonly leaderElect: boolean;
  readonly namespace?: string;
  readonly logLevel?: string;
  readonly webhookPort?: number;
  /** Default: service inside a pod, url (https://127.0.0.1:PORT) for a local process. */
  readonly webhookMode?: "service" | "url" | "off";
  readonly webhookHost?: string;
  /** --allowed-registries: registries tenant resources may take images from (default the SCONE registry). */
  readonly allowedRegistries?: string;
  /** --scone-cli: reach CAS with this local SCONE CLI (port-forward) instead of a sconecli pod per CAS. */
  readonly sconeCli?: string;
  /** --cli-node-selector: nodes the sconecli pods are created on (default any node). */
  readonly cliNodeSelector?: Readonly<Record<string, string>> | undefined;
}

/** The Lease name upstream's controller-runtime manager uses, so upstream's operator and scone never act together. */
export const LEADER_ELECTION_LEASE = "61d57791.scone.cloud";

/** History rows name the kind a controller reconciles, as users write it (`scone operator history LAS/las`). */
const CONTROLLER_KINDS: Record<string, string> = {
  las: "LAS",
  sgxplugin: "SGXPlugin",
  cas: "CAS",
  signedpolicy: "SignedPolicy",
  encryptedpolicy: "EncryptedPolicy",
  vault: "Vault",
  scone: "Scone",
};

export async function runOperator(opts: OperatorOptions): Promise<void> {
  const log = createLogger({ level: resolveLogLevel(opts.logLevel), sink: process.stdout, component: "operator" });
  // Settings first: a bad flag fails before anything connects.
  if (opts.sconeCli !== undefined) {
    const { sconeCliProblem } = await import("../cas/driver/cli-path.ts");
    const problem = sconeCliProblem(opts.sconeCli);
    if (problem) throw new Error(`invalid value ${JSON.stringify(opts.sconeCli)} for --scone-cli: ${problem}`);
  }
  const { parseAllowedRegistries, resolveAllowedRegistries, formatEntry } = await import("./admission/registries.ts");
  const admissionPolicy = {
    allowedRegistries: resolveAllowedRegistries(
      opts.allowedRegistries === undefined ? undefined : parseAllowedRegistries(opts.allowedRegistries),
      process.env.SCONE_IMAGE_REGISTRY,
    ),
  };
  const [
    { KubeClient },
    { SharedInformers },
    { EventRecorder },
    { Manager },
    { kubeLeaseStore },
    wiring,
    store,
    history,
    version,
  ] = await Promise.all([
    import("../kube/client.ts"),
    import("../kube/shared-informers.ts"),
    import("../kube/events.ts"),
    import("./manager.ts"),
    import("./lease-store.ts"),
    import("./wiring.ts"),
    import("../store/open.ts"),
    import("./history.ts"),
    import("../version.ts"),
  ]);
  const { resolveStateDir } = await import("../store/state-dir.ts");
  const { ClusterHistory } = await import("./reconcile-history/recorder.ts");
  const [{ registerResource }, { sconeResourceTypes }] = await Promise.all([
    import("../kube/resources.ts"),
    import("../resources/crds.ts"),
  ]);
  // Our own kinds need no discovery: right after `install` created the CRDs, discovery may not list a kind yet
  // although it is served, and an admission review for it (the one-SGXPlugin rule lists SGXPlugins) failed with
  // "does not serve kind" (seen in `make demo` on a loaded machine).
  for (const t of sconeResourceTypes) registerResource(t);

  const client = await KubeClient.load({
    kubeconfig: opts.kubeconfig,
    context: opts.context,
    namespace: opts.namespace,
  });
  const server = await client.serverVersion();
  // /version answers anonymous callers too; a SelfSubjectReview proves our credentials were sent and accepted.
  const review = await client.create<
    import("../kube/types.ts").KubeObject & { status?: { userInfo?: { username?: string } } }
  >({
    apiVersion: "authentication.k8s.io/v1",
    kind: "SelfSubjectReview",
  });
  const namespace = opts.namespace ?? process.env.SCONE_OPERATOR_NAMESPACE ?? client.namespace;
  log.info("connected to the API server", {
    server: client.transport.connection.server,
    version: server.gitVersion,
    user: review.status?.userInfo?.username ?? "unknown",
  });

  const stateDir = resolveStateDir({ flag: opts.stateDir, mode: "operator" });
  const db = store.openStore({ stateDir });
  const identity = `${hostname()}_${crypto.randomUUID()}`;
  if (opts.metricsCertDir !== undefined && !opts.metricsSecure)
    throw new Error("--metrics-cert-dir is the certificate of --metrics-secure: add --metrics-secure or leave it out");
  const metricsSecurity = opts.metricsSecure
    ? { tls: await metricsTls(opts.metricsCertDir), guard: metricsAuthorizer(metricsReviewer(client)).guard }
    : undefined;
  const manager = new Manager({
    log,
    probePort: opts.probePort,
    metricsPort: opts.metricsPort,
    ...(metricsSecurity ? { metricsSecurity } : {}),
    ...(opts.leaderElect
      ? { leaderElection: { store: kubeLeaseStore(client), namespace, name: LEADER_ELECTION_LEASE, identity } }
      : {}),
  });

  // API requests per reconcile is a cost figure of issue 18 (bench/cas.ts, `make scale`) and an alert-worthy one.
  const apiRequests = manager.metrics.counter(KUBE_CLIENT_METRICS.requests.name, KUBE_CLIENT_METRICS.requests.help);
  client.transport.onResponse = (method, status) => apiRequests.inc({ method, code: String(status) });
  const kubeLog = log.child({ component: "kube" });
  const { operatorCacheProjection } = await import("./cas/cache-projection.ts");
  // What each scope's cache keeps (CAS pods: the fields their readers use; issue 18's RSS with 2,000 CAS).
  const informers = new SharedInformers(client, {
    stripManagedFields: true,
    resyncMs: 10 * 60_000,
    logger: kubeLog,
    projection: operatorCacheProjection,
  });
  const recorder = new EventRecorder(client, {
    reportingController: "scone-operator",
    reportingInstance: identity,
    logger: kubeLog,
  });
  const reader = new wiring.InformerReader(informers, client);
  const kindOf = (c: string) => CONTROLLER_KINDS[c] ?? c;
  // Every reconcile: a row in this replica's store, and (bounded) in the cluster where every replica and the CLI
  // read it (src/operator/reconcile-history).
  const storeHistory = history.historyRecorder(db, kindOf, log);
  const clusterHistory = new ClusterHistory({
    client,
    reader,
    events: { record: (o, type, reason, message) => void recorder.record(o, type, reason, message) },
    operatorNamespace: namespace,
    by: identity,
    kindOf,
    log,
  });
  const serviceVersion = process.env.GLOBAL_SCONE_VERSION ?? version.DEFAULT_SCONE_SERVICE_VERSION;
  const imageMirror = imageMirrorFromEnv(process.env);
  const { casDriverSource } = await import("../cas/driver/source.ts");
  const ctx: import("./wiring.ts").OperatorContext = {
    client,
    informers,
    manager,
    kit: {
      client,
      reader,
      events: { record: (o, type, reason, message) => void recorder.record(o, type, reason, message) },
    },
    log,
    operatorNamespace: namespace,
    serviceVersion,
    imageMirror,
    casDriverSource: casDriverSource({
      kube: client,
      stateDir,
      imageMirror,
      serviceVersion,
      ...(opts.sconeCli !== undefined ? { sconeCli: opts.sconeCli } : {}),
      ...(opts.cliNodeSelector ? { nodeSelector: opts.cliNodeSelector } : {}),
      warn: (message) => log.warn(message, { component: "cas-driver" }),
    }),
    recordHistory: withFailureLog(log, (r) => {
      void storeHistory(r);
      void clusterHistory.record(r);
    }),
    admissionPolicy,
  };
  log.info("tenant resources may run images from", {
    allowedRegistries: admissionPolicy.allowedRegistries.map(formatEntry),
  });
  manager.readiness.add("informers", () => {
    const h = informers.health();
    const bad = h.informers.filter((i) => !i.healthy);
    return h.healthy
      ? { ok: true }
      : { ok: false, reason: bad.map((i) => `${i.name}: ${i.reason ?? "unhealthy"}`).join("; ") };
  });
  manager.addAlways({
    name: "informers",
    start: async () => {
      informers.start();
    },
    stop: () => informers.stop(),
  });
  const webhookMode = opts.webhookMode ?? (process.env.KUBERNETES_SERVICE_HOST ? "service" : "url");
  if (webhookMode !== "off") {
    // Every replica serves the webhooks (the Service routes to any ready pod), so they do not wait for the lease.
    const { webhooksRunnable } = await import("./webhooks/run.ts");
    manager.addAlways(
      webhooksRunnable(ctx, {
        port: opts.webhookPort ?? 9443,
        mode: webhookMode,
        ...(opts.webhookHost ? { host: opts.webhookHost } : {}),
        policy: admissionPolicy,
        ...ctx.imageMirror,
      }),
    );
  }
  const { registerControllers } = await import("./controllers.ts");
  registerControllers(ctx, { store: db, stateDir });

  const shutdown = (signal: string) => {
    log.info("shutting down", { signal });
    void manager.stop();
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));

  await manager.start();
  await manager.wait();
  db.close();
  log.info("stopped");
}
